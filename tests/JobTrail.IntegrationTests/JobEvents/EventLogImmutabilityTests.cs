using JobTrail.IntegrationTests.Infrastructure;
using Npgsql;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>The database itself refuses to change or remove events: grants for the service role, triggers for everyone.</summary>
public sealed class EventLogImmutabilityTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    public static TheoryData<string> Mutations() => new(
        "update job_events.events set type = 'step.output' where job_id = '{0}'",
        "update job_events.events set payload = '{{}}'::jsonb where job_id = '{0}'",
        "delete from job_events.events where job_id = '{0}'",
        "truncate job_events.events",
        "truncate job_events.events cascade");

    [Theory]
    [MemberData(nameof(Mutations))]
    public async Task The_service_role_cannot_update_delete_or_truncate_events(string mutation)
    {
        var job = await JobWithEventsAsync();

        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            fixture.QueryAsServiceAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, mutation, job), fixture.DefaultWorkspaceId.ToString(), r => 0));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        Assert.Contains("permission denied", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(4, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Theory]
    [MemberData(nameof(Mutations))]
    public async Task Even_the_owner_cannot_update_delete_or_truncate_events(string mutation)
    {
        var job = await JobWithEventsAsync();

        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            fixture.ScalarAsOwnerAsync<long>(string.Format(System.Globalization.CultureInfo.InvariantCulture, mutation, job), fixture.DefaultWorkspaceId.ToString()));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        Assert.Contains("append-only", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(4, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task The_service_role_cannot_rewind_or_reopen_a_stream_by_hand_beyond_its_grants()
    {
        var job = await JobWithEventsAsync();

        var delete = await Assert.ThrowsAsync<PostgresException>(() => fixture.QueryAsServiceAsync(
            $"delete from job_events.job_streams where job_id = '{job}'", fixture.DefaultWorkspaceId.ToString(), r => 0));
        var moveJob = await Assert.ThrowsAsync<PostgresException>(() => fixture.QueryAsServiceAsync(
            $"update job_events.job_streams set workspace_id = gen_random_uuid() where job_id = '{job}'", fixture.DefaultWorkspaceId.ToString(), r => 0));
        var dropKey = await Assert.ThrowsAsync<PostgresException>(() => fixture.QueryAsServiceAsync(
            "delete from job_events.idempotency_keys", fixture.DefaultWorkspaceId.ToString(), r => 0));

        Assert.All(new[] { delete, moveJob, dropKey }, e => Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, e.SqlState));
    }

    [Fact]
    public async Task Every_event_is_in_exactly_one_outbox_row_and_has_a_global_position()
    {
        var job = await JobWithEventsAsync();

        var rows = await fixture.QueryAsServiceAsync(
            $"""
            select e.seq, e.position, count(o.id)
            from job_events.events e
            left join job_events.outbox o on o.job_id = e.job_id and e.seq between o.seq and o.last_seq
            where e.job_id = '{job}'
            group by e.seq, e.position
            order by e.seq
            """,
            fixture.DefaultWorkspaceId.ToString(),
            r => (Seq: r.GetInt64(0), Position: r.GetInt64(1), OutboxRows: r.GetInt64(2)));

        Assert.Equal([1L, 2, 3, 4], rows.Select(r => r.Seq));
        Assert.All(rows, r => Assert.Equal(1, r.OutboxRows));
        var positions = rows.Select(r => r.Position).ToList();
        Assert.Equal(positions.Order().Distinct(), positions);
    }

    private async Task<Guid> JobWithEventsAsync()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        (await client.EmitBatchAsync(job, [new { type = "step.output" }, new { type = "gate.passed" }])).EnsureStatus(201);
        return job;
    }
}
