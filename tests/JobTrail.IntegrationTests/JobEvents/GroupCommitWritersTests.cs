using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.Integrity;
using JobTrail.Testing;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>Several group writers side by side: a job always on one of them, each committing on its own.</summary>
public sealed class GroupCommitWritersTests(FourWritersFixture fixture) : IClassFixture<FourWritersFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_held_writer_holds_only_its_own_jobs_while_another_writer_commits()
    {
        var client = fixture.Client();
        var jobs = new List<Guid>();
        Guid? sameWriter = null, otherWriter = null;
        while (sameWriter is null || otherWriter is null)
        {
            var job = (await client.CreateJobAsync()).Id();
            if (jobs.Count > 0 && fixture.Writer.WriterOf(job) == fixture.Writer.WriterOf(jobs[0]))
            {
                sameWriter ??= job;
            }
            else if (jobs.Count > 0)
            {
                otherWriter ??= job;
            }

            jobs.Add(job);
            Assert.True(jobs.Count < 200, "no two jobs on different writers among 200");
        }

        fixture.Gate.HoldAfterNextCommit();
        var first = client.EmitEventAsync(jobs[0], new { type = "step.output", payload = new { n = 1 } });
        await Eventually.TrueAsync(() => fixture.Gate.Holding, Deadline, "the first job's writer to hold after its commit");
        var behind = client.EmitEventAsync(sameWriter.Value, new { type = "step.output", payload = new { n = 2 } });
        await Eventually.TrueAsync(() => fixture.Writer.Queued >= 1, Deadline, "the second emit to queue behind the held writer");

        // Another writer answers while the first is still held; the emit queued behind it is not answered yet.
        (await client.EmitEventAsync(otherWriter.Value, new { type = "step.output", payload = new { n = 3 } })).EnsureStatus(201);
        Assert.True(fixture.Gate.Holding);
        Assert.False(behind.IsCompleted);

        fixture.Gate.Release();
        (await first).EnsureStatus(201);
        Assert.Equal(2L, (await behind).EnsureStatus(201).Json.Seq());
    }

    [Fact]
    public Task Emits_and_batches_racing_across_writers_keep_each_jobs_seqs_gapless_with_each_request_consecutive() =>
        RaceAsync(fixture, jobs => Assert.True(jobs.Select(fixture.Writer.WriterOf).Distinct().Count() > 1, "the jobs all fell on one writer"));

    /// <summary>
    /// Per job two senders race, each sending singles and batches of three in its own order; every request's events
    /// are consecutive, each sender's requests in its order, each job's log gapless and its chain valid.
    /// </summary>
    internal static async Task RaceAsync(GroupCommitFixture fixture, Action<List<Guid>> assertSpread)
    {
        var client = fixture.Client();
        var jobs = new List<Guid>();
        for (var i = 0; i < 12; i++)
        {
            jobs.Add((await client.CreateJobAsync()).Id());
        }

        assertSpread(jobs);

        // Per job two senders race, each sending singles and batches of three in its own order.
        var sent = jobs.SelectMany(job => Enumerable.Range(0, 2).Select(async sender =>
        {
            var answers = new List<List<long>>();
            for (var r = 0; r < 8; r++)
            {
                var response = r % 2 == 0
                    ? await client.EmitEventAsync(job, new { type = "step.output", payload = new { sender, r, n = 0 } })
                    : await client.EmitBatchAsync(job, Enumerable.Range(0, 3).Select(n => (object)new { type = "step.output", payload = new { sender, r, n } }));
                response.EnsureStatus(201);
                answers.Add(r % 2 == 0
                    ? [response.Json.Seq()]
                    : [.. response.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq())]);
            }

            return (Job: job, Answers: answers);
        })).ToList();
        var results = await Task.WhenAll(sent);

        foreach (var job in jobs)
        {
            var answered = results.Where(r => r.Job == job).SelectMany(r => r.Answers).ToList();
            // Each request's events are consecutive, each sender's requests in the order it sent them.
            Assert.All(answered, seqs => Assert.Equal(Enumerable.Range((int)seqs[0], seqs.Count).Select(x => (long)x), seqs));
            foreach (var sender in results.Where(r => r.Job == job))
            {
                var firsts = sender.Answers.Select(a => a[0]).ToList();
                Assert.Equal(firsts.Order(), firsts);
            }

            // The job's log is gapless: job.created, then every answered seq exactly once.
            var listed = await client.ListAllEventsAsync(job);
            Assert.Equal(Enumerable.Range(1, 1 + (2 * 16)).Select(x => (long)x), listed.Select(e => e.Seq()));
            Assert.Equal(Enumerable.Range(2, 2 * 16).Select(x => (long)x), answered.SelectMany(a => a).Order());
            var verified = await EventChainTests.VerifyAsync(client, job);
            Assert.True(verified.Valid, verified.Detail);
            Assert.Equal(1 + (2 * 16), verified.Checked);
        }
    }
}
