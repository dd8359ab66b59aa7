using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Testing;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>A client emit opens no transaction of its own: its activity row commits with its events, in the group's transaction.</summary>
public sealed class GroupCommitActivityTests(GroupCommitFixture fixture) : IClassFixture<GroupCommitFixture>
{
    // The activity row records its writer's full transaction id (xid8); an event row's xmin is its low 32 bits.
    private static string WritersOf(Guid job) => $"""
        select count(*)::text || ':' || string_agg(distinct x, ',') from (
            select xmin::text as x from job_events.events where job_id = '{job}' and type = 'step.output'
            union all
            select (xact_id::text::numeric % 4294967296)::text from activity.activity_logs
            where entity_id = '{job}' and action = 'job_event.batch_emitted') t
        """;

    [Fact]
    public async Task A_batch_and_its_activity_row_are_written_by_one_transaction()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        (await client.EmitBatchAsync(job, [new { type = "step.output", payload = new { n = 1 } }, new { type = "step.output", payload = new { n = 2 } }]))
            .EnsureStatus(201);

        var writers = await fixture.ScalarAsOwnerAsync<string>(WritersOf(job), fixture.DefaultWorkspaceId.ToString());
        // Two events and one activity row, and a single transaction id among the three.
        Assert.Matches("^3:[0-9]+$", writers);
    }

    [Fact]
    public async Task Concurrent_batches_in_one_group_commit_their_events_and_activity_rows_together()
    {
        var client = fixture.Client();
        var jobs = new List<Guid>();
        for (var i = 0; i < 4; i++)
        {
            jobs.Add((await client.CreateJobAsync()).Id());
        }

        var opener = (await client.CreateJobAsync()).Id();
        fixture.Gate.HoldAfterNextCommit();
        var first = client.EmitEventAsync(opener, new { type = "step.output" });
        await Eventually.TrueAsync(() => fixture.Gate.Holding, TimeSpan.FromSeconds(60), "the writer to hold after the opening commit");
        var sent = jobs.Select(j => client.EmitBatchAsync(j, [new { type = "step.output" }])).ToArray();
        await Eventually.TrueAsync(() => fixture.Writer.Queued >= jobs.Count, TimeSpan.FromSeconds(60), "the batches to be queued");
        fixture.Gate.Release();
        (await first).EnsureStatus(201);
        Assert.All(await Task.WhenAll(sent), r => r.EnsureStatus(201));

        var all = string.Join(" or ", jobs.Select(j => $"entity_id = '{j}'"));
        var events = string.Join(" or ", jobs.Select(j => $"job_id = '{j}'"));
        var writers = await fixture.ScalarAsOwnerAsync<string>($"""
            select count(*)::text || ':' || string_agg(distinct x, ',') from (
                select xmin::text as x from job_events.events where ({events}) and type = 'step.output'
                union all
                select (xact_id::text::numeric % 4294967296)::text from activity.activity_logs
                where ({all}) and action = 'job_event.batch_emitted') t
            """, fixture.DefaultWorkspaceId.ToString());
        // Four events and four activity rows: one commit made all eight durable.
        Assert.Matches("^8:[0-9]+$", writers);
    }
}
