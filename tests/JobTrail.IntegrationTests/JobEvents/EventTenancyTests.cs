using JobTrail.IntegrationTests.Infrastructure;
using Npgsql;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>A workspace sees and writes only its own jobs' events, through the API and in the database.</summary>
public sealed class EventTenancyTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task Workspace_b_cannot_list_get_or_emit_into_workspace_a_job()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var job = (await a.Client.CreateJobAsync()).Id();
        var stepOfA = (await a.Client.CreateStepAsync(job, "compile")).Id();
        var eventOfA = (await a.Client.EmitEventAsync(job, new { type = "step.output", stepId = stepOfA })).EnsureStatus(201).Json.Id();

        (await b.Client.GetJsonAsync($"/api/runner-jobs/{job}/events")).EnsureProblem(404, "job_not_found");
        (await b.Client.GetJsonAsync($"/api/runner-jobs/{job}/events/{eventOfA}")).EnsureProblem(404, "job_not_found");
        (await b.Client.EmitEventAsync(job, new { type = "step.output" })).EnsureProblem(404, "job_not_found");
        (await b.Client.EmitEventAsync(job, new { type = "step.output", stepId = stepOfA })).EnsureProblem(404, "job_not_found");
        (await b.Client.EmitBatchAsync(job, [new { type = "step.output" }])).EnsureProblem(404, "job_not_found");
        (await b.Client.EmitEventAsync(job, new { type = "step.output" }, "b-key")).EnsureProblem(404, "job_not_found");

        var events = await a.Client.ListAllEventsAsync(job);
        Assert.Equal(["job.created", "step.output"], events.Select(e => e.Type()));
        Assert.Equal(0, await fixture.CountAsOwnerAsync("idempotency_keys", a.WorkspaceId, job));
    }

    [Fact]
    public async Task Workspace_b_cannot_use_a_step_of_workspace_a_in_its_own_job()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobOfA = (await a.Client.CreateJobAsync()).Id();
        var stepOfA = (await a.Client.CreateStepAsync(jobOfA, "compile")).Id();
        var jobOfB = (await b.Client.CreateJobAsync()).Id();

        (await b.Client.EmitEventAsync(jobOfB, new { type = "step.output", stepId = stepOfA })).EnsureProblem(422, "step_not_in_job");
    }

    [Fact]
    public async Task By_sql_the_service_role_pinned_to_workspace_b_sees_none_of_workspace_a_rows()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var job = (await a.Client.CreateJobAsync()).Id();
        (await a.Client.EmitEventAsync(job, new { type = "step.output" }, "a-key")).EnsureStatus(201);

        // The outbox is a queue of pointers outside row-level security, drained by the relay; it holds no event content.
        foreach (var table in new[] { "events", "job_streams", "idempotency_keys" })
        {
            var sql = $"select count(*) from job_events.{table} where job_id = '{job}'";
            Assert.Equal(0L, (await fixture.QueryAsServiceAsync(sql, b.WorkspaceId.ToString(), r => r.GetInt64(0))).Single());
            Assert.Equal(0L, (await fixture.QueryAsServiceAsync(sql, null, r => r.GetInt64(0))).Single());
            Assert.True((await fixture.QueryAsServiceAsync(sql, a.WorkspaceId.ToString(), r => r.GetInt64(0))).Single() > 0, table);
        }

        var all = await fixture.QueryAsServiceAsync("select count(*) from job_events.events", b.WorkspaceId.ToString(), r => r.GetInt64(0));
        Assert.Equal(0L, all.Single());
    }

    [Fact]
    public async Task By_sql_the_service_role_pinned_to_workspace_b_cannot_write_an_event_for_workspace_a()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var job = (await a.Client.CreateJobAsync()).Id();

        var error = await Assert.ThrowsAsync<PostgresException>(() => fixture.QueryAsServiceAsync(
            $"""
            insert into job_events.events (id, workspace_id, job_id, seq, type, actor_id, correlation_id, occurred_at, recorded_at)
            values (gen_random_uuid(), '{a.WorkspaceId}', '{job}', 99, 'step.output', 'user:evil', 'x', now(), now())
            """,
            b.WorkspaceId.ToString(),
            r => 0));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        Assert.Contains("row-level security", error.MessageText, StringComparison.Ordinal);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", a.WorkspaceId, job));
    }
}
