using JobTrail.BuildingBlocks.Integrity;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.Integrity;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Testing;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>
/// A writer's helper (ADR 0047): while the writer is busy, the helper commits what queued behind it in a transaction
/// of its own, but never an append of a job the writer holds.
/// </summary>
public sealed class GroupCommitHelperTests(HelperFixture fixture) : IClassFixture<HelperFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task While_the_writer_is_held_its_helper_commits_another_job_and_the_held_jobs_next_append_waits_its_turn()
    {
        var client = fixture.Client();
        var held = (await client.CreateJobAsync()).Id();
        var other = (await client.CreateJobAsync()).Id();
        var helped = fixture.Writer.HelperTaken;

        fixture.Gate.HoldAfterNextCommit();
        var first = client.EmitEventAsync(held, new { type = "step.output", payload = new { n = 1 } });
        await Eventually.TrueAsync(() => fixture.Gate.Holding, Deadline, "the writer to hold after its commit");
        var behind = client.EmitBatchAsync(held, Enumerable.Range(2, 3).Select(n => (object)new { type = "step.output", payload = new { n } }));
        await Eventually.TrueAsync(() => fixture.Writer.Queued >= 1, Deadline, "the held job's batch to queue behind the writer");

        // The other job is committed and answered by the helper while the writer still holds its group.
        var answered = (await client.EmitBatchAsync(other, Enumerable.Range(0, 3).Select(n => (object)new { type = "step.output", payload = new { n } })))
            .EnsureStatus(201);
        Assert.Equal([2L, 3L, 4L], answered.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq()));
        Assert.True(fixture.Gate.Holding);
        Assert.True(fixture.Writer.HelperTaken > helped, "the helper did not take the other job's batch");

        // The held job's batch was left queued, not taken by the helper: it waits for the writer's answer.
        Assert.Equal(1, fixture.Writer.Queued);
        Assert.False(behind.IsCompleted);

        fixture.Gate.Release();
        Assert.Equal(2L, (await first).EnsureStatus(201).Json.Seq());
        var after = (await behind).EnsureStatus(201);
        Assert.Equal([3L, 4L, 5L], after.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq()));
        EventsApi.AssertGapless(await client.ListAllEventsAsync(held));
    }

    [Fact]
    public async Task Emits_and_batches_racing_with_the_helper_keep_each_jobs_seqs_gapless_with_each_request_consecutive()
    {
        var helped = fixture.Writer.HelperTaken;
        await GroupCommitWritersTests.RaceAsync(fixture, _ => { });
        Assert.True(fixture.Writer.HelperTaken > helped, "the helper never took a backlog during the race");
    }

    [Fact]
    public async Task Appends_queued_in_a_burst_get_each_jobs_seqs_in_the_order_they_were_queued_whichever_writer_takes_them()
    {
        var client = fixture.Client();
        var jobs = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            jobs.Add((await client.CreateJobAsync()).Id());
        }

        var helped = fixture.Writer.HelperTaken;
        var ticks = DateTime.UtcNow.Ticks;
        var now = new DateTime(ticks - (ticks % 10), DateTimeKind.Utc);
        var queued = new List<(Guid Job, int Events, Task<IReadOnlyList<EventRecord>> Answer)>();
        void Queue(Guid job, int events, string correlation)
        {
            var request = new AppendRequest(
                job,
                [.. Enumerable.Range(0, events).Select(n => new NewEvent(
                    Guid.CreateVersion7(), "step.output", null, n == 1 ? $"{{\"n\": {n}}}" : null, null))],
                CreateStream: false, Seal: false, IdempotencyKey: null, RequestHash: null,
                ActorId: "test:burst", CorrelationId: correlation, Now: now);
            queued.Add((job, events, fixture.Writer.AppendAsync(fixture.DefaultWorkspaceId, request, CancellationToken.None)));
        }

        for (var round = 0; round < 4; round++)
        {
            // The writer holds one of the jobs (its opening append committed, the answer held): the burst queued in
            // process behind it, in a known order, is the helper's, except that job's appends, which must wait.
            fixture.Gate.HoldAfterNextCommit();
            Queue(jobs[round], 1, $"open-{round}");
            await Eventually.TrueAsync(() => fixture.Gate.Holding, Deadline, "the writer to hold after its commit");
            for (var i = 0; i < 60; i++)
            {
                Queue(jobs[(i * 7 / 3) % jobs.Count], 1 + (i % 3), $"burst-{round}-{i}");
            }

            var ofHeldJob = Enumerable.Range(0, 60).Count(i => jobs[(i * 7 / 3) % jobs.Count] == jobs[round]);
            await Eventually.TrueAsync(() => fixture.Writer.Queued == ofHeldJob, Deadline, "the helper to take every append but the held job's");
            Assert.True(fixture.Gate.Holding);
            fixture.Gate.Release();
            await Task.WhenAll(queued.Select(q => q.Answer)).WaitAsync(Deadline);
        }

        Assert.True(fixture.Writer.HelperTaken > helped, "the helper never took a backlog of the bursts");
        foreach (var job in jobs)
        {
            // job.created is seq 1; then each append's events follow the last one's, in the order they were queued.
            var next = 2L;
            foreach (var (_, events, answer) in queued.Where(q => q.Job == job))
            {
                var stored = await answer;
                Assert.Equal(Enumerable.Range((int)next, events).Select(x => (long)x), stored.Select(e => e.Seq));
                next += events;
            }

            var verified = await EventChainTests.VerifyAsync(client, job);
            Assert.True(verified.Valid, verified.Detail);
            Assert.Equal(next - 1, verified.Checked);
        }
    }
}
