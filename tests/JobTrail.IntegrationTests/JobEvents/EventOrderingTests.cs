using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>Seqs are assigned under the job's stream lock: gapless and unique however many write at once.</summary>
public sealed class EventOrderingTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    private const int Emitters = 16;
    private const int EventsPerEmitter = 25;

    [Fact]
    public async Task Sixteen_concurrent_emitters_on_one_job_get_gapless_unique_seqs()
    {
        var job = (await fixture.Client().CreateJobAsync()).Id();

        var seqsByEmitter = await Task.WhenAll(Enumerable.Range(0, Emitters).Select(emitter => EmitManyAsync(fixture.Client(), job, emitter)));

        var events = await fixture.Client().ListAllEventsAsync(job, limit: 100);
        Assert.Equal(1 + (Emitters * EventsPerEmitter), events.Count);
        EventsApi.AssertGapless(events);
        var returned = seqsByEmitter.SelectMany(s => s).Order().ToList();
        Assert.Equal(Enumerable.Range(2, Emitters * EventsPerEmitter).Select(i => (long)i), returned);

        // Each emitter's own events keep the order it sent them in.
        foreach (var emitter in Enumerable.Range(0, Emitters))
        {
            var mine = events.Where(e => e.Type() == "step.progress" && e.GetProperty("payload").GetProperty("emitter").GetInt32() == emitter)
                .Select(e => e.GetProperty("payload").GetProperty("i").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, EventsPerEmitter), mine);
        }
    }

    [Fact]
    public async Task Sixteen_jobs_written_at_once_each_get_gapless_seqs()
    {
        var jobs = new List<Guid>();
        for (var i = 0; i < Emitters; i++)
        {
            jobs.Add((await fixture.Client().CreateJobAsync()).Id());
        }

        await Task.WhenAll(jobs.Select((job, i) => EmitManyAsync(fixture.Client(), job, i)));

        foreach (var job in jobs)
        {
            var events = await fixture.Client().ListAllEventsAsync(job);
            Assert.Equal(1 + EventsPerEmitter, events.Count);
            EventsApi.AssertGapless(events);
        }
    }

    [Fact]
    public async Task Concurrent_batches_and_state_changes_on_one_job_interleave_without_gaps_and_the_terminal_event_is_last()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        var steps = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            steps.Add((await client.CreateStepAsync(job, $"step {i}")).Id());
        }

        var batches = Enumerable.Range(0, 8).Select(b => fixture.Client().EmitBatchAsync(job,
            Enumerable.Range(0, 50).Select(i => (object)new { type = "step.output", payload = new { b, i } })));
        var stepChanges = steps.Select(async step =>
        {
            var c = fixture.Client();
            (await c.SetStepStatusAsync(job, step, "RUNNING")).EnsureStatus(200);
            (await c.SetStepStatusAsync(job, step, "COMPLETED")).EnsureStatus(200);
        });
        var responses = await Task.WhenAll(batches);
        await Task.WhenAll(stepChanges);
        Assert.All(responses, r => r.EnsureStatus(201));
        (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);

        var events = await client.ListAllEventsAsync(job);
        Assert.Equal(2 + 400 + 8 + 1, events.Count);
        EventsApi.AssertGapless(events);
        Assert.Equal("job.completed", events[^1].Type());
        // Each batch is contiguous: nothing else is written between its first and last event.
        foreach (var response in responses)
        {
            var seqs = response.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq()).ToList();
            Assert.Equal(Enumerable.Range((int)seqs[0], 50).Select(i => (long)i), seqs);
        }
    }

    private static async Task<List<long>> EmitManyAsync(HttpClient client, Guid job, int emitter)
    {
        var seqs = new List<long>();
        for (var i = 0; i < EventsPerEmitter; i++)
        {
            var response = (await client.EmitEventAsync(job, new { type = "step.progress", payload = new { emitter, i } })).EnsureStatus(201);
            seqs.Add(response.Json.Seq());
        }

        return seqs;
    }
}
