using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.Streaming;
using Npgsql;

namespace JobTrail.IntegrationTests.Activity;

public sealed class ActivityStreamFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Activity:Stream:PollInterval"] = "00:00:00.100",
        ["JobTrail:Activity:Stream:Heartbeat"] = "00:00:00.200",
        ["JobTrail:Activity:Stream:PageSize"] = "3",
        ["JobTrail:Events:Stream:MaxStreamsPerWorkspace"] = "3",
        ["JobTrail:Events:Stream:MaxShareOfWorkspacePerKey"] = "1",
    },
    null);

public sealed class ActivityStreamTests(ActivityStreamFixture fixture) : IClassFixture<ActivityStreamFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Activity_recorded_after_the_stream_opens_arrives_live_with_its_position_as_id()
    {
        var tenant = await fixture.CreateTenantAsync();
        await using var stream = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream");
        Assert.Equal(200, (int)stream.Response.StatusCode);
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);

        var jobId = (await tenant.Client.CreateJobAsync()).Id();

        await Eventually.TrueAsync(() => stream.Events.Any(e => e.Json.Str("entityId") == jobId.ToString()), Deadline, "the job's activity on the stream");
        var sent = stream.Events.Single(e => e.Json.Str("entityId") == jobId.ToString());
        var row = Assert.Single(await fixture.ActivityRowsAsync(tenant.WorkspaceId, $"entity_id = '{jobId}'"));
        Assert.Equal(("activity", row.Position, row.Id), (sent.Event, sent.Id!.Value, sent.Json.Id()));
        Assert.Equal("runner_job.created", sent.Json.Str("action"));
    }

    [Fact]
    public async Task A_frame_is_byte_for_byte_the_activity_as_the_list_returns_it()
    {
        var tenant = await fixture.CreateTenantAsync();
        await using var stream = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream");
        var jobId = (await tenant.Client.CreateJobAsync(name: "café \"q\" <b> ✓")).Id();

        await Eventually.TrueAsync(() => stream.Events.Any(e => e.Json.Str("entityId") == jobId.ToString()), Deadline, "the job's activity on the stream");
        var sent = stream.Events.Single(e => e.Json.Str("entityId") == jobId.ToString());
        var listed = (await tenant.Client.GetJsonAsync($"/api/activity?entityType=runner_job&entityId={jobId}")).EnsureStatus(200);
        var item = Assert.Single(listed.Json.GetProperty("items").EnumerateArray());
        Assert.Equal(item.GetRawText(), sent.Data);
        Assert.Contains("café", sent.Data, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Resuming_with_last_event_id_sends_every_later_activity_once_in_order_across_several_pages()
    {
        var tenant = await fixture.CreateTenantAsync();
        for (var i = 0; i < 8; i++)
        {
            await tenant.Client.CreateJobAsync(name: $"job-{i}");
        }

        var rows = await fixture.ActivityRowsAsync(tenant.WorkspaceId);
        var resumeAfter = rows[2].Position;

        await using var stream = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream", lastEventId: resumeAfter.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var expected = rows.Where(r => r.Position > resumeAfter).Select(r => r.Position).ToList();
        await Eventually.TrueAsync(() => stream.Events.Count >= expected.Count, Deadline, "the rows after the resume point");
        await Eventually.TrueAsync(() => stream.Frames.Count(f => f.IsComment) >= 2, Deadline, "two heartbeats after catching up");

        Assert.Equal(expected, stream.Events.Select(e => e.Id!.Value));
        Assert.Equal(expected, stream.Events.Select(e => e.Json.GetProperty("id").GetGuid()).Select(id => rows.Single(r => r.Id == id).Position));
    }

    [Fact]
    public async Task A_row_committed_late_with_a_lower_position_is_not_skipped_by_a_client_that_resumes()
    {
        var tenant = await fixture.CreateTenantAsync();
        var first = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream?entityType=release");
        (await tenant.Client.PostJsonAsync("/api/activity", new { action = "release.planned", entityType = "release", entityId = "seed" })).EnsureStatus(201);
        await Eventually.TrueAsync(() => first.Events.Count == 1, Deadline, "the seed row");

        await using (var held = new NpgsqlConnection(fixture.App.ServiceConnectionString))
        {
            await held.OpenAsync();
            await using var transaction = await held.BeginTransactionAsync();
            await using (var set = new NpgsqlCommand("select set_config('app.workspace_id', $1, true)", held, transaction))
            {
                set.Parameters.Add(new NpgsqlParameter { Value = tenant.WorkspaceId.ToString() });
                await set.ExecuteNonQueryAsync();
            }

            // Takes its position now and commits only after a later row has committed.
            await using (var insert = new NpgsqlCommand(
                "insert into activity.activity_logs (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, occurred_at) " +
                "values ($1, $2, 'late-writer', 'release.cut', 'release', 'early', 'SUCCEEDED', now())", held, transaction))
            {
                insert.Parameters.Add(new NpgsqlParameter { Value = Guid.NewGuid() });
                insert.Parameters.Add(new NpgsqlParameter { Value = tenant.WorkspaceId });
                await insert.ExecuteNonQueryAsync();
            }

            var later = (await tenant.Client.PostJsonAsync("/api/activity",
                new { action = "release.published", entityType = "release", entityId = "later" })).EnsureStatus(201).Json.Id();
            Assert.Single(await fixture.ActivityRowsAsync(tenant.WorkspaceId, $"id = '{later}'"));

            // Polls go on (heartbeats prove it) while the earlier position may still commit: the later row must wait.
            var pings = first.Frames.Count(f => f.IsComment);
            await Eventually.TrueAsync(() => first.Frames.Count(f => f.IsComment) >= pings + 3, Deadline, "heartbeats while the writer is open");
            await first.DisposeAsync();
            await transaction.CommitAsync();
        }

        var seen = first.Events.Select(e => e.Id!.Value).ToList();
        var rows = await fixture.ActivityRowsAsync(tenant.WorkspaceId, "entity_type = 'release'");
        Assert.Equal(["seed", "early", "later"], rows.Select(r => r.EntityId));
        await using var resumed = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream?entityType=release",
            lastEventId: seen[^1].ToString(System.Globalization.CultureInfo.InvariantCulture));
        await Eventually.TrueAsync(() => seen.Count + resumed.Events.Count >= 3, Deadline, "every row across both connections");

        var all = seen.Concat(resumed.Events.Select(e => e.Id!.Value)).ToList();
        Assert.Equal(rows.Select(r => r.Position).Order(), all.Order());
        Assert.Equal(all.Count, all.Distinct().Count());
    }

    [Fact]
    public async Task Filters_narrow_the_stream_like_the_list()
    {
        var tenant = await fixture.CreateTenantAsync();
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        var actor = Assert.Single(await fixture.ActivityRowsAsync(tenant.WorkspaceId, $"entity_id = '{jobId}'")).ActorId;
        await using var jobs = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream?action=runner_job.*");
        await using var denied = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream?outcome=DENIED");
        await using var deploys = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream?entityType=deployment&actorId=" + Uri.EscapeDataString(actor));

        var reader = await fixture.CreateKeyAsync(tenant.WorkspaceId, "user:reader", ["jobs:read"], tenant.Key);
        (await fixture.Client(reader).PostJsonAsync("/api/runner-jobs", new { type = "ci", name = "nope" })).EnsureProblem(403);
        (await tenant.Client.PostJsonAsync("/api/activity", new { action = "deployment.started", entityType = "deployment", entityId = "d1" })).EnsureStatus(201);
        (await tenant.Client.PostJsonAsync("/api/activity", new { action = "service.restarted", entityType = "service", entityId = "s1" })).EnsureStatus(201);
        (await tenant.Client.SetJobStatusAsync(jobId, "CANCELLED")).EnsureStatus(200);

        await Eventually.TrueAsync(() => jobs.Events.Count >= 1 && denied.Events.Count >= 1 && deploys.Events.Count >= 1, Deadline, "each stream's match");
        await Eventually.TrueAsync(() => jobs.Events.Count >= 2, Deadline, "the refused create and the job's status change");
        // Feed order: the refused attempt was recorded before the status change; the job's own creation predates the stream.
        Assert.Equal([("runner_job.created", "DENIED"), ("runner_job.status_changed", "SUCCEEDED")],
            jobs.Events.Select(e => (e.Json.Str("action"), e.Json.Str("outcome"))));
        Assert.All(denied.Events, e => Assert.Equal("DENIED", e.Json.Str("outcome")));
        Assert.Equal(["deployment.started"], deploys.Events.Select(e => e.Json.Str("action")));
    }

    [Fact]
    public async Task Tenant_b_does_not_see_tenant_a_activity_and_cannot_resume_from_its_positions()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        await using var streamB = await SseClient.OpenAsync(b.Client, "/api/activity/stream");

        var jobA = (await a.Client.CreateJobAsync()).Id();
        var jobB = (await b.Client.CreateJobAsync()).Id();

        await Eventually.TrueAsync(() => streamB.Events.Any(e => e.Json.Str("entityId") == jobB.ToString()), Deadline, "tenant b's own job");
        Assert.All(streamB.Events, e => Assert.Equal(b.WorkspaceId, e.Json.GetProperty("workspaceId").GetGuid()));
        Assert.DoesNotContain(streamB.Events, e => e.Json.Str("entityId") == jobA.ToString());

        var positionA = Assert.Single(await fixture.ActivityRowsAsync(a.WorkspaceId, $"entity_id = '{jobA}'")).Position;
        await using var resume = await SseClient.OpenAsync(b.Client, "/api/activity/stream", lastEventId: positionA.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(400, (int)resume.Response.StatusCode);
    }

    [Fact]
    public async Task A_key_without_activity_read_gets_403()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "events:read");
        var response = await HttpClientJsonExtensions.ReadAsync(await tenant.Client.GetAsync("/api/activity/stream"));
        response.EnsureProblem(403, "missing_scope");
    }

    [Fact]
    public async Task Bad_filters_and_resume_points_get_a_400_problem()
    {
        var tenant = await fixture.CreateTenantAsync();
        (await tenant.Client.GetJsonAsync("/api/activity/stream?action=NOT%20AN%20ACTION")).EnsureProblem(400);
        (await tenant.Client.GetJsonAsync("/api/activity/stream?outcome=MAYBE")).EnsureProblem(400);
        (await tenant.Client.GetJsonAsync("/api/activity/stream?afterPosition=0")).EnsureProblem(400);
    }

    [Fact]
    public async Task Activity_streams_and_event_streams_share_the_workspace_cap()
    {
        var tenant = await fixture.CreateTenantAsync();
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        await using var events = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{jobId}/events/stream");
        await using var one = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream");
        await using var two = await SseClient.OpenAsync(tenant.Client, "/api/activity/stream");
        Assert.Equal(200, (int)two.Response.StatusCode);

        var refused = await HttpClientJsonExtensions.ReadAsync(await tenant.Client.GetAsync("/api/activity/stream"));
        refused.EnsureProblem(429, "too_many_streams");
    }
}
