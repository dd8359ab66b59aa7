using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Access;

public sealed class TenantIsolationTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task Tenant_b_never_sees_or_changes_tenant_a_jobs_or_steps_through_the_api()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobId = (await a.Client.CreateJobAsync("secret-type")).Id();
        var stepId = (await a.Client.CreateStepAsync(jobId, "s", "EXECUTION", "AI_ACTION")).Id();

        (await b.Client.GetJsonAsync($"/api/runner-jobs/{jobId}")).EnsureProblem(404);
        (await b.Client.SetJobStatusAsync(jobId, "RUNNING")).EnsureProblem(404);
        (await b.Client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps")).EnsureProblem(404);
        (await b.Client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps/{stepId}")).EnsureProblem(404);
        (await b.Client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps", new { name = "x", phase = "SETUP", type = "COMMAND" })).EnsureProblem(404);
        (await b.Client.SetStepStatusAsync(jobId, stepId, "RUNNING")).EnsureProblem(404);
        (await b.Client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{stepId}/tokens", new { input = 1, output = 1 })).EnsureProblem(404);
        var list = (await b.Client.GetJsonAsync("/api/runner-jobs?type=secret-type")).EnsureStatus(200).Json;
        Assert.Equal(0, list.GetProperty("items").GetArrayLength());

        var job = (await a.Client.GetJsonAsync($"/api/runner-jobs/{jobId}")).EnsureStatus(200).Json;
        Assert.Equal("PENDING", job.Str("status"));
        var step = (await a.Client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps/{stepId}")).EnsureStatus(200).Json;
        Assert.Equal(0, step.GetProperty("tokensInput").GetInt64());
    }

    [Theory]
    [InlineData("runner_jobs.jobs")]
    [InlineData("job_steps.steps")]
    [InlineData("access.api_keys")]
    [InlineData("access.workspaces")]
    public async Task The_service_role_sees_no_rows_of_tenant_a_with_b_set_an_empty_setting_or_none(string table)
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobId = (await a.Client.CreateJobAsync()).Id();
        await a.Client.CreateStepAsync(jobId, "s");
        var sql = $"select count(*) from {table} where workspace_id = '{a.WorkspaceId}'";

        var asA = await fixture.QueryAsServiceAsync(sql, a.WorkspaceId.ToString(), r => r.GetInt64(0));
        var asB = await fixture.QueryAsServiceAsync(sql, b.WorkspaceId.ToString(), r => r.GetInt64(0));
        var empty = await fixture.QueryAsServiceAsync(sql, "", r => r.GetInt64(0));
        var unset = await fixture.QueryAsServiceAsync(sql, null, r => r.GetInt64(0));
        var everything = await fixture.QueryAsServiceAsync($"select count(*) from {table}", null, r => r.GetInt64(0));

        Assert.True(asA.Single() > 0, "A itself must see its rows, or the test proves nothing");
        Assert.Equal(0, asB.Single());
        Assert.Equal(0, empty.Single());
        Assert.Equal(0, unset.Single());
        Assert.Equal(0, everything.Single());
    }

    [Fact]
    public async Task The_service_role_cannot_write_rows_into_another_workspace()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();

        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => fixture.QueryAsServiceAsync(
            $"insert into runner_jobs.jobs (id, workspace_id, type, status, created_by, created_at) values (gen_random_uuid(), '{a.WorkspaceId}', 'x', 'PENDING', 'evil', now()) returning 1",
            b.WorkspaceId.ToString(), r => r.GetInt32(0)));

        Assert.Equal("42501", error.SqlState);
    }

    [Fact]
    public async Task The_service_role_is_not_privileged_and_owns_nothing()
    {
        var role = await fixture.QueryAsServiceAsync(
            "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user",
            null, r => (Super: r.GetBoolean(0), Bypass: r.GetBoolean(1), CreateRole: r.GetBoolean(2), CreateDb: r.GetBoolean(3)));
        var owned = await fixture.QueryAsServiceAsync(
            "select count(*) from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = current_user",
            null, r => r.GetInt64(0));

        Assert.Equal((false, false, false, false), role.Single());
        Assert.Equal(0, owned.Single());
    }

    [Fact]
    public async Task Every_tenant_table_has_forced_row_level_security()
    {
        var tables = await fixture.QueryAsServiceAsync(
            """
            select n.nspname || '.' || c.relname, c.relrowsecurity, c.relforcerowsecurity
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attname = 'workspace_id'
            where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
              -- Directory tables and the relay's outbox of pointers are deliberately outside RLS
              -- (docs/adr); the service role reads the directories only through access.find_api_key.
              and (n.nspname, c.relname) not in (('access', 'workspace_slugs'), ('access', 'api_key_directory'), ('job_events', 'outbox'))
            """, null, r => (Name: r.GetString(0), Enabled: r.GetBoolean(1), Forced: r.GetBoolean(2)));

        Assert.NotEmpty(tables);
        Assert.All(tables, t => Assert.True(t.Enabled && t.Forced, $"{t.Name} lacks forced row-level security"));
    }
}
