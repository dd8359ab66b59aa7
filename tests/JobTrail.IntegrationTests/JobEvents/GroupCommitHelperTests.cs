using JobTrail.IntegrationTests.Infrastructure;
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
}
