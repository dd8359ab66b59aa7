using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;

namespace JobTrail.IntegrationTests.Access;

public sealed class TenantIsolationTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task Tenant_b_gets_404_or_403_and_never_data_on_every_endpoint_with_tenant_a_ids()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var seeded = await SeedAsync(a);
        var aKeyId = KeyIdOf(a.Key);
        var job = seeded.Job;
        var step = seeded.Step;

        var attempts = new (string What, Func<Task<ApiResponse>> Send)[]
        {
            ("get job", () => b.Client.GetJsonAsync($"/api/runner-jobs/{job}")),
            ("change job status", () => b.Client.SetJobStatusAsync(job, "COMPLETED")),
            ("list steps", () => b.Client.GetJsonAsync($"/api/runner-jobs/{job}/steps")),
            ("get step", () => b.Client.GetJsonAsync($"/api/runner-jobs/{job}/steps/{step}")),
            ("create step", () => b.Client.PostJsonAsync($"/api/runner-jobs/{job}/steps", new { name = "x", phase = "SETUP", type = "COMMAND" })),
            ("change step status", () => b.Client.SetStepStatusAsync(job, step, "COMPLETED")),
            ("record tokens", () => b.Client.PostJsonAsync($"/api/runner-jobs/{job}/steps/{step}/tokens", new { input = 1, output = 1 })),
            ("list events", () => b.Client.GetJsonAsync($"/api/runner-jobs/{job}/events")),
            ("get event", () => b.Client.GetJsonAsync($"/api/runner-jobs/{job}/events/{seeded.Event}")),
            ("emit event", () => b.Client.EmitEventAsync(job, new { type = "step.output" })),
            ("emit batch", () => b.Client.EmitBatchAsync(job, [new { type = "step.output" }])),
            ("replay a's idempotency key", () => b.Client.EmitEventAsync(job, new { type = "step.output", payload = new { marker = Marker } }, "a-key")),
            ("recent events", () => b.Client.GetJsonAsync($"/api/runner-jobs/{job}/events/recent")),
            ("event stream", () => OpenStreamAsync(b.Client, job)),
            ("verify events", () => b.Client.GetJsonAsync($"/api/runner-jobs/{job}/events/verify")),
            ("get activity", () => b.Client.GetJsonAsync($"/api/activity/{seeded.Activity}")),
            ("list a's api keys", () => b.Client.GetJsonAsync($"/api/workspaces/{a.WorkspaceId}/api-keys")),
            ("create a key in a", () => b.Client.PostJsonAsync($"/api/workspaces/{a.WorkspaceId}/api-keys", new { name = "k", actorId = "user:evil", scopes = new[] { "admin" } })),
            ("revoke a's key in a", () => b.Client.DeleteAsync2($"/api/workspaces/{a.WorkspaceId}/api-keys/{aKeyId}")),
            ("revoke a's key through b", () => b.Client.DeleteAsync2($"/api/workspaces/{b.WorkspaceId}/api-keys/{aKeyId}")),
        };

        foreach (var (what, send) in attempts)
        {
            var response = await send();
            Assert.True(response.Status is 403 or 404, $"{what}: {response.Status} {response.Body}");
            Assert.DoesNotContain(Marker, response.Body, StringComparison.Ordinal);
        }

        // Lists filtered by A's ids answer from B's own log only: B's refused attempts on A's job (recorded in
        // B's workspace, as every refusal is recorded for the caller), never A's rows.
        foreach (var list in new[]
        {
            $"/api/runner-jobs?type={Marker}", $"/api/activity?entityId={job}", $"/api/activity/audit/runner_job/{job}",
            $"/api/activity?actorId={seeded.Actor}", $"/api/activity?entityId={Marker}",
        })
        {
            var page = (await b.Client.GetJsonAsync(list)).EnsureStatus(200);
            Assert.All(page.Json.GetProperty("items").EnumerateArray(), item =>
            {
                Assert.Equal(b.WorkspaceId, item.GetProperty("workspaceId").GetGuid());
                Assert.NotEqual("SUCCEEDED", item.Str("outcome"));
            });
            Assert.DoesNotContain(Marker, page.Body, StringComparison.Ordinal);
        }

        var bVerify = (await b.Client.GetJsonAsync("/api/activity/verify")).EnsureStatus(200).Json;
        var bRows = await fixture.QueryAsServiceAsync("select count(*) from activity.activity_logs", b.WorkspaceId.ToString(), r => r.GetInt64(0));
        Assert.True(bVerify.GetProperty("checked").GetInt64() <= bRows.Single(), "b's verification counted rows that are not b's");

        // A's record is untouched and A's key still works.
        var aJob = (await a.Client.GetJsonAsync($"/api/runner-jobs/{job}")).EnsureStatus(200).Json;
        Assert.Equal("RUNNING", aJob.Str("status"));
        var events = (await a.Client.GetJsonAsync($"/api/runner-jobs/{job}/events")).EnsureStatus(200).Json.GetProperty("items");
        Assert.Equal(seeded.EventCount, events.GetArrayLength());
        var aStep = (await a.Client.GetJsonAsync($"/api/runner-jobs/{job}/steps/{step}")).EnsureStatus(200).Json;
        Assert.Equal((0L, "PENDING"), (aStep.GetProperty("tokensInput").GetInt64(), aStep.Str("status")));
        Assert.True((await a.Client.GetJsonAsync($"/api/runner-jobs/{job}/events/verify")).EnsureStatus(200).Json.GetProperty("valid").GetBoolean());
    }

    /// <summary>Every table that holds a workspace's rows (the directories, dashboard sessions and the relay's outbox of pointers are outside row-level security by design, ADRs 10 and 0027).</summary>
    private static readonly string[] TenantTableNames =
    [
        "runner_jobs.jobs", "job_steps.steps", "access.api_keys", "access.workspaces",
        "job_events.events", "job_events.event_links", "job_events.job_streams", "job_events.idempotency_keys",
        "activity.activity_logs", "activity.chain", "activity.chain_heads",
    ];

    public static TheoryData<string> TenantTables() => new(TenantTableNames);

    [Fact]
    public async Task The_list_of_tenant_tables_covers_every_table_with_a_workspace_id()
    {
        var tables = await fixture.QueryAsServiceAsync(
            """
            select n.nspname || '.' || c.relname
            from pg_class c join pg_namespace n on n.oid = c.relnamespace
            join pg_attribute a on a.attrelid = c.oid and a.attname = 'workspace_id'
            where c.relkind in ('r', 'p') and not c.relispartition and n.nspname not in ('pg_catalog', 'information_schema')
              and (n.nspname, c.relname) not in (('access', 'workspace_slugs'), ('access', 'api_key_directory'), ('access', 'ui_sessions'), ('job_events', 'outbox'))
            """, null, r => r.GetString(0));

        Assert.Equal(TenantTableNames.Order(StringComparer.Ordinal), tables.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(TenantTables))]
    public async Task The_service_role_sees_no_rows_of_tenant_a_with_b_set_an_empty_setting_or_none(string table)
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        await SeedAsync(a);
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
    public async Task The_service_role_is_not_privileged_belongs_to_no_role_and_owns_nothing()
    {
        var role = await fixture.QueryAsServiceAsync(
            "select rolsuper, rolbypassrls, rolcreaterole, rolcreatedb from pg_roles where rolname = current_user",
            null, r => (Super: r.GetBoolean(0), Bypass: r.GetBoolean(1), CreateRole: r.GetBoolean(2), CreateDb: r.GetBoolean(3)));
        var owned = await fixture.QueryAsServiceAsync(
            "select count(*) from pg_class c join pg_roles r on r.oid = c.relowner where r.rolname = current_user",
            null, r => r.GetInt64(0));
        var memberships = await fixture.QueryAsServiceAsync(
            "select count(*) from pg_auth_members m join pg_roles r on r.oid = m.member where r.rolname = current_user",
            null, r => r.GetInt64(0));
        var ownsSchemaOrFunction = await fixture.QueryAsServiceAsync(
            """
            select (select count(*) from pg_namespace n join pg_roles r on r.oid = n.nspowner where r.rolname = current_user)
                 + (select count(*) from pg_proc p join pg_roles r on r.oid = p.proowner where r.rolname = current_user)
            """, null, r => r.GetInt64(0));

        Assert.Equal((false, false, false, false), role.Single());
        Assert.Equal(0, owned.Single());
        Assert.Equal(0, memberships.Single());
        Assert.Equal(0, ownsSchemaOrFunction.Single());
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
              -- (docs/adr); the service role reads the directories only through access.find_api_key,
              -- and dashboard sessions, on which it has no privileges, only through the session
              -- functions (ADR 0027; UiSessionTests shows the role cannot read the table).
              and (n.nspname, c.relname) not in (('access', 'workspace_slugs'), ('access', 'api_key_directory'), ('access', 'ui_sessions'), ('job_events', 'outbox'))
            """, null, r => (Name: r.GetString(0), Enabled: r.GetBoolean(1), Forced: r.GetBoolean(2)));

        Assert.NotEmpty(tables);
        Assert.All(tables, t => Assert.True(t.Enabled && t.Forced, $"{t.Name} lacks forced row-level security"));
    }

    /// <summary>A string only tenant A's rows contain: no answer to B may carry it.</summary>
    private const string Marker = "a-secret-9f3b";

    private sealed record Seeded(Guid Job, Guid Step, Guid Event, Guid Activity, string Actor, int EventCount);

    /// <summary>A's rows in every tenant table: a job, a step, events (one with an Idempotency-Key), activity, and its links once sealed.</summary>
    private async Task<Seeded> SeedAsync(Tenant a)
    {
        var job = (await a.Client.CreateJobAsync(Marker, Marker, new { marker = Marker })).Id();
        (await a.Client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        var step = (await a.Client.CreateStepAsync(job, Marker, "EXECUTION", "AI_ACTION")).Id();
        var emitted = (await a.Client.EmitEventAsync(job, new { type = "step.output", stepId = step, payload = new { marker = Marker } }, "a-key")).EnsureStatus(201).Json.Id();
        var activity = (await a.Client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = Marker, metadata = new { marker = Marker } }))
            .EnsureStatus(201).Json;
        var rows = (await fixture.QueryAsServiceAsync("select count(*) from activity.activity_logs", a.WorkspaceId.ToString(), r => r.GetInt64(0))).Single();
        await Eventually.GetAsync(
            async () => (await a.Client.GetJsonAsync("/api/activity/verify")).EnsureStatus(200).Json.GetProperty("checked").GetInt64(),
            sealedCount => sealedCount >= rows, TimeSpan.FromSeconds(30), "a's activity to be sealed");
        return new Seeded(job, step, emitted, activity.Id(), activity.Str("actorId")!, 3);
    }

    private static async Task<ApiResponse> OpenStreamAsync(HttpClient client, Guid job)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runner-jobs/{job}/events/stream");
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.NotEqual("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return await HttpClientJsonExtensions.ReadAsync(response);
    }

    /// <summary><c>jt_&lt;key id&gt;_&lt;secret&gt;</c>.</summary>
    private static Guid KeyIdOf(string key) => Guid.ParseExact(key.Split('_')[1], "N");
}
