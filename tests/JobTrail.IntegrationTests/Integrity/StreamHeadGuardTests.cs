using JobTrail.BuildingBlocks.Integrity;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using Npgsql;
using static JobTrail.IntegrationTests.Integrity.ChainTestSupport;

namespace JobTrail.IntegrationTests.Integrity;

/// <summary>
/// A job's head (<c>job_events.job_streams</c>) only moves forward. The service role holds UPDATE on
/// it (the append needs it), so the database refuses a rewind, an unsealing and a seal without the
/// terminal event; the owner, who can switch that off, is caught by verify instead.
/// </summary>
public sealed class StreamHeadGuardTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task The_service_role_cannot_move_a_jobs_head_back()
    {
        var (tenant, job) = await RunningJobAsync();

        var refused = await AsServiceAsync(tenant, $"update job_events.job_streams set last_seq = 2 where job_id = '{job}'");

        Assert.Contains("may only advance", refused.MessageText, StringComparison.Ordinal);
        Assert.Equal(6, await HeadAsync(tenant, job));
        var next = (await tenant.Client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "after" } })).EnsureStatus(201);
        Assert.Equal(7, next.Json.Seq());
        Assert.Equal(7, (await tenant.Client.ListAllEventsAsync(job)).Count);
        Assert.True((await EventChainTests.VerifyAsync(tenant.Client, job)).Valid);
    }

    [Fact]
    public async Task The_service_role_cannot_seal_a_stream_without_appending_its_terminal_event()
    {
        var (tenant, job) = await RunningJobAsync();

        var now = await AsServiceAsync(tenant, $"update job_events.job_streams set sealed_at = now() where job_id = '{job}'");
        // The head's own recorded_at, but the head is a step.output: only a terminal job event seals.
        var atHead = await AsServiceAsync(tenant,
            $"""
            update job_events.job_streams js set sealed_at = e.recorded_at
            from job_events.events e where e.job_id = js.job_id and e.seq = js.last_seq and js.job_id = '{job}'
            """);
        var created = await AsServiceAsync(tenant,
            $"insert into job_events.job_streams (job_id, workspace_id, last_seq, created_at, sealed_at) values (gen_random_uuid(), '{tenant.WorkspaceId}', 0, now(), now())");

        Assert.All(new[] { now, atHead, created }, e => Assert.Contains("terminal event", e.MessageText, StringComparison.Ordinal));
        (await tenant.Client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "still open" } })).EnsureStatus(201);
    }

    [Fact]
    public async Task The_service_role_cannot_unseal_or_move_a_sealed_stream_and_the_terminal_event_still_seals_it()
    {
        var (tenant, job) = await RunningJobAsync();
        (await tenant.Client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);
        (await tenant.Client.EmitEventAsync(job, new { type = "step.output" })).EnsureProblem(409);

        var unseal = await AsServiceAsync(tenant, $"update job_events.job_streams set sealed_at = null where job_id = '{job}'");
        var reseal = await AsServiceAsync(tenant, $"update job_events.job_streams set sealed_at = sealed_at - interval '1 day' where job_id = '{job}'");
        var advance = await AsServiceAsync(tenant, $"update job_events.job_streams set last_seq = last_seq + 1 where job_id = '{job}'");

        Assert.All(new[] { unseal, reseal, advance }, e => Assert.Contains("is sealed", e.MessageText, StringComparison.Ordinal));
        Assert.Equal(7, await HeadAsync(tenant, job));
        (await tenant.Client.EmitEventAsync(job, new { type = "step.output" })).EnsureProblem(409);
        Assert.True((await EventChainTests.VerifyAsync(tenant.Client, job)).Valid);
    }

    [Fact]
    public async Task A_head_the_owner_moved_back_is_reported_by_verify_and_the_auditors_tool()
    {
        var (tenant, job) = await RunningJobAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, "job_events.job_streams", "job_streams_head_only_advances",
            Sql("update job_events.job_streams set last_seq = 3 where job_id = $1", job));

        Assert.Equal(3, await HeadAsync(tenant, job));
        var api = await EventChainTests.VerifyAsync(tenant.Client, job);
        var tool = await fixture.Audit().VerifyEventsAsync(tenant.WorkspaceId, job);
        api.AssertFails(4, ChainFailure.HeadBehindChain);
        Assert.Contains("head says 3", api.Detail, StringComparison.Ordinal);
        Assert.Equal((false, (long?)4, ChainFailure.HeadBehindChain), (tool!.Valid, tool.FirstBadSeq, tool.Reason));
        // The links past the head are genuine: the answer still names the chain's real end, to export.
        Assert.Equal((6L, (long?)6), (api.Checked, api.LastSeq));
    }

    /// <summary>A running job in a fresh workspace: job.created, job.started and four outputs (head 6).</summary>
    private async Task<(Tenant Tenant, Guid Job)> RunningJobAsync()
    {
        var tenant = await fixture.CreateTenantAsync();
        var job = (await tenant.Client.CreateJobAsync()).Id();
        (await tenant.Client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        (await tenant.Client.EmitBatchAsync(job, Enumerable.Range(1, 4).Select(n => (object)new { type = "step.output", payload = new { line = $"line {n}" } })))
            .EnsureStatus(201);
        Assert.Equal(6, await HeadAsync(tenant, job));
        return (tenant, job);
    }

    /// <summary>Runs a statement as the service role, pinned to the tenant's workspace, and expects the database to refuse it.</summary>
    private async Task<PostgresException> AsServiceAsync(Tenant tenant, string sql)
    {
        var refused = await Assert.ThrowsAsync<PostgresException>(() => fixture.QueryAsServiceAsync(sql, tenant.WorkspaceId.ToString(), _ => 0));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        return refused;
    }

    private async Task<long> HeadAsync(Tenant tenant, Guid job) =>
        (await fixture.QueryAsServiceAsync($"select last_seq from job_events.job_streams where job_id = '{job}'", tenant.WorkspaceId.ToString(), r => r.GetInt64(0)))
        .Single();
}
