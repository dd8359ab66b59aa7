using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.IntegrationTests.Activity;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.Activity.Features.GetActivity;
using JobTrail.Modules.Activity.Features.GetAuditTrail;
using JobTrail.Modules.Activity.Features.ListActivities;
using JobTrail.Modules.Activity.Features.VerifyActivityChain;
using JobTrail.Modules.JobEvents.Features.GetEvent;
using JobTrail.Modules.JobEvents.Features.ListEventsForJob;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using JobTrail.Modules.JobEvents.Features.VerifyEventChain;
using JobTrail.Modules.JobEvents.Persistence;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobTrail.IntegrationTests.Access;

/// <summary>
/// Two guards keep a workspace's rows to itself: row-level security, and the workspace filter each
/// query carries in code. These tests take each guard on its own: a refusal at the boundary is
/// recorded, and the code's filters hold in a session where row-level security shows another
/// workspace (the setting changed after the session pinned its own).
/// </summary>
public sealed class WorkspaceBoundaryTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task Acting_on_another_workspace_leaves_one_denied_row_in_the_callers_activity_and_none_in_the_target()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var create = Origin.New();
        var revoke = Origin.New();
        var aKeys = await fixture.ScalarAsOwnerAsync<long>("select count(*) from access.api_keys", a.WorkspaceId.ToString());

        (await b.Client.SendAsync(HttpMethod.Post, $"/api/workspaces/{a.WorkspaceId}/api-keys", new { name = "x", actorId = "user:intruder", scopes = new[] { "admin" } }, create))
            .EnsureProblem(403, "other_workspace");
        (await b.Client.SendAsync(HttpMethod.Delete, $"/api/workspaces/{a.WorkspaceId}/api-keys/{KeyId(a.Key)}", null, revoke))
            .EnsureProblem(403, "other_workspace");

        var created = Assert.Single(await fixture.ActivityRowsForAsync(b.WorkspaceId, create));
        Assert.Equal(("api_key.created", "api_key", (string?)null, "DENIED"), (created.Action, created.EntityType, created.EntityId, created.Outcome));
        Assert.Equal("other_workspace", created.MetadataJson.GetProperty("error").GetString());
        Assert.Equal("user:intruder", created.MetadataJson.GetProperty("keyActorId").GetString());
        var revoked = Assert.Single(await fixture.ActivityRowsForAsync(b.WorkspaceId, revoke));
        Assert.Equal(("api_key.revoked", "api_key", KeyId(a.Key).ToString(), "DENIED"), (revoked.Action, revoked.EntityType, revoked.EntityId, revoked.Outcome));
        Assert.Equal("other_workspace", revoked.MetadataJson.GetProperty("error").GetString());
        Assert.All(new[] { created, revoked }, r => Assert.StartsWith("runner:ws-", r.ActorId, StringComparison.Ordinal));
        Assert.Empty(await fixture.ActivityRowsForAsync(a.WorkspaceId, create));
        Assert.Empty(await fixture.ActivityRowsForAsync(a.WorkspaceId, revoke));
        Assert.Equal(aKeys, await fixture.ScalarAsOwnerAsync<long>("select count(*) from access.api_keys", a.WorkspaceId.ToString()));
        (await a.Client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
    }

    [Fact]
    public async Task The_event_store_answers_only_for_its_sessions_workspace_where_row_level_security_shows_another()
    {
        var a = await fixture.CreateTenantAsync();
        var (b, job, eventId) = await OtherWorkspaceJobAsync();

        await InSessionAsync(a.WorkspaceId, b.WorkspaceId, readOnly: true, async services =>
        {
            var session = services.GetRequiredService<DbSession>();
            Assert.True(await CountAsync(session, $"select count(*) from job_events.events where job_id = '{job}'") >= 4, "row-level security should show B's events here");
            var store = services.GetRequiredService<EventLog>();
            var chain = services.GetRequiredService<EventChainReader>();

            // Every query is asked; the answer names each one that let B's rows through.
            var leaks = new List<string>();
            var (listed, events) = await ListEventsForJobHandler.ReadAsync(
                session, new ListEventsForJobQuery(job, null, 0, null, null, 100, null), 0, 100, CancellationToken.None);
            Leak(leaks, "ListAsync", listed || events.Count > 0);
            var (found, single) = await GetEventHandler.ReadAsync(session, job, eventId, CancellationToken.None);
            Leak(leaks, "GetAsync", found || single is not null);
            Leak(leaks, "ReadEventsAfter", (await ReadEventsAfterHandler.ReadAsync(session, job, 0, 100, CancellationToken.None)).Count > 0);
            Leak(leaks, "StreamExistsAsync", await store.StreamExistsAsync(job, CancellationToken.None));
            Leak(leaks, "GetHeadAsync", await StreamHead.ReadAsync(session, job, CancellationToken.None) is not null);
            Leak(leaks, "GetChainExtentAsync", await chain.ReadExtentAsync(job, CancellationToken.None) is not null);
            Leak(leaks, "ReadChainAsync", (await chain.ReadAsync(job, 0, 1000, CancellationToken.None)).Count > 0);
            var refusal = await store.ExplainRefusalAsync(job, "boundary-key", CancellationToken.None);
            Leak(leaks, "ExplainRefusalAsync (stream)", refusal.StreamExists);
            Leak(leaks, "ExplainRefusalAsync (key)", refusal.KeyRequestHash is not null);
            Leak(leaks, "ExplainRefusalAsync (key events)", refusal.KeyEvents.Count > 0);

            Assert.True(leaks.Count == 0, $"These queries let another workspace's rows through: {string.Join(", ", leaks)}");
        });
    }

    [Fact]
    public async Task An_append_in_one_workspaces_session_does_not_touch_another_workspaces_stream_where_row_level_security_shows_it()
    {
        var a = await fixture.CreateTenantAsync();
        var (b, job, _) = await OtherWorkspaceJobAsync();

        await InSessionAsync(a.WorkspaceId, b.WorkspaceId, readOnly: false, async services =>
        {
            var store = services.GetRequiredService<EventLog>();
            var request = new AppendRequest(job, [new NewEvent(Guid.CreateVersion7(), "step.output", null, "{}", null)],
                CreateStream: false, Seal: false, null, null, "user:boundary", "boundary", DateTime.UtcNow);

            Assert.Empty(await store.AppendAsync(request, CancellationToken.None));
        });

        Assert.Equal(4, (await b.Client.ListAllEventsAsync(job)).Count);
    }

    [Fact]
    public async Task The_activity_queries_answer_only_for_their_sessions_workspace_where_row_level_security_shows_another()
    {
        var a = await fixture.CreateTenantAsync();
        var (b, job, _) = await OtherWorkspaceJobAsync();
        var row = (await fixture.ActivityRowsAsync(b.WorkspaceId, $"entity_id = '{job}'")).First();
        await Eventually.GetAsync(
            () => fixture.QueryAsServiceAsync("select count(*) from activity.chain", b.WorkspaceId.ToString(), r => r.GetInt64(0)),
            counts => counts.Single() > 0, TimeSpan.FromSeconds(30), "B's activity to be sealed");

        await InSessionAsync(a.WorkspaceId, b.WorkspaceId, readOnly: true, async services =>
        {
            var session = services.GetRequiredService<DbSession>();
            Assert.True(await CountAsync(session, $"select count(*) from activity.activity_logs where id = '{row.Id}'") == 1, "row-level security should show B's activity here");
            Assert.True(await CountAsync(session, "select count(*) from activity.chain") > 0, "row-level security should show B's chain here");
            var mediator = services.GetRequiredService<IMediator>();
            var reader = services.GetRequiredService<ActivityChainReader>();

            var leaks = new List<string>();
            var listed = await mediator.Send(new ListActivitiesQuery(null, null, null, null, null, null, null, 1000, null));
            Leak(leaks, "ListActivities", listed.Items.Count > 0);
            var trail = await mediator.Send(new GetAuditTrailQuery("runner_job", job.ToString(), 1000, null));
            Leak(leaks, "GetAuditTrail", trail.Items.Count > 0);
            var single = await Record.ExceptionAsync(() => mediator.Send(new GetActivityQuery(row.Id)));
            Leak(leaks, "GetActivity", single is not NotFoundException);
            Leak(leaks, "ActivityChainReader.GetExtentAsync", await reader.GetExtentAsync(CancellationToken.None) is not null);
            Leak(leaks, "ActivityChainReader.GetHashAsync", await reader.GetHashAsync(1, CancellationToken.None) is not null);
            Leak(leaks, "ActivityChainReader.ReadAsync", (await reader.ReadAsync(0, 1_000_000, null, CancellationToken.None)).Count > 0);

            Assert.True(leaks.Count == 0, $"These queries let another workspace's rows through: {string.Join(", ", leaks)}");
        });
    }

    /// <summary>A workspace B with a running job of four events, one emitted with an Idempotency-Key.</summary>
    private async Task<(Tenant Tenant, Guid Job, Guid EventId)> OtherWorkspaceJobAsync()
    {
        var b = await fixture.CreateTenantAsync();
        var job = (await b.Client.CreateJobAsync()).Id();
        (await b.Client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        (await b.Client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "b's secret" } }, idempotencyKey: "boundary-key")).EnsureStatus(201);
        var emitted = (await b.Client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "more" } })).EnsureStatus(201);
        return (b, job, emitted.Json.Id());
    }

    /// <summary>
    /// Runs <paramref name="act"/> in a request scope whose session belongs to <paramref name="sessionWorkspace"/>,
    /// with row-level security switched to <paramref name="rlsWorkspace"/>: only the code's filter stands between.
    /// </summary>
    private async Task InSessionAsync(Guid sessionWorkspace, Guid rlsWorkspace, bool readOnly, Func<IServiceProvider, Task> act)
    {
        await using var scope = fixture.App.Services.CreateAsyncScope();
        var services = scope.ServiceProvider;
        services.GetRequiredService<RequestContext>().Authenticate(
            sessionWorkspace, Guid.CreateVersion7(), "user:boundary", [Scopes.EventsRead, Scopes.EventsWrite, Scopes.ActivityRead]);
        var session = services.GetRequiredService<DbSession>();
        // A read-only session re-sends its own workspace with every statement: take a transaction to switch it.
        await session.BeginAsync(sessionWorkspace, readOnly: false, CancellationToken.None);
        try
        {
            await session.EnsureWorkspaceAsync(CancellationToken.None);
            if (readOnly)
            {
                await using var readOnlyMode = new NpgsqlCommand("SET TRANSACTION READ ONLY", session.Connection, session.Transaction);
                await readOnlyMode.ExecuteNonQueryAsync();
            }

            await WorkspaceSetting.ApplyAsync(session.Connection, session.Transaction!, rlsWorkspace, CancellationToken.None);
            await act(services);
        }
        finally
        {
            await session.EndAsync();
        }
    }

    private static async Task<long> CountAsync(DbSession session, string sql)
    {
        await using var command = new NpgsqlCommand(sql, session.Connection, session.Transaction);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static void Leak(List<string> leaks, string query, bool leaked)
    {
        if (leaked)
        {
            leaks.Add(query);
        }
    }

    private static Guid KeyId(string key) => Guid.ParseExact(key.Substring(3, 32), "N");
}
