using System.Text.Json;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.BuildingBlocks.Http;
using JobTrail.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Activity;

/// <summary>
/// A host behind a trusted proxy (10.20.30.40), with the test peer address, and with a second
/// capture that fails the command after the real one wrote its row, for marked requests.
/// </summary>
public sealed class ActivityCaptureFixture() : JobTrailFixture(
    new Dictionary<string, string?> { ["JobTrail:TrustedProxies:0"] = ActivityCaptureTests.TrustedProxy },
    services =>
    {
        TestPeerAddress.Register(services);
        services.AddScoped<IActivityCapture, FailAfterCapture>();
    });

/// <summary>Throws after the real capture has written its row, when the correlation id says so.</summary>
internal sealed class FailAfterCapture(RequestContext context) : IActivityCapture
{
    public const string Marker = "fail-after-capture-";

    public Task RecordInTransactionAsync(CapturedActivity activity, CancellationToken cancellationToken) =>
        context.CorrelationId.StartsWith(Marker, StringComparison.Ordinal)
            ? throw new InvalidOperationException("Simulated failure after the activity row was written.")
            : Task.CompletedTask;

    public Task RecordRefusalAsync(CapturedActivity activity, CancellationToken cancellationToken) => Task.CompletedTask;
}

public sealed class ActivityCaptureTests(ActivityCaptureFixture fixture) : IClassFixture<ActivityCaptureFixture>
{
    public const string TrustedProxy = "10.20.30.40";
    private const string ClientAddress = "203.0.113.7";

    private static readonly string[] RecordProperties =
        ["id", "workspaceId", "actorId", "action", "entityType", "entityId", "outcome", "metadata", "ipAddress", "userAgent", "correlationId", "occurredAt"];

    private sealed record Actor(Guid WorkspaceId, string ActorId, HttpClient Client);

    private sealed record Expected(Guid WorkspaceId, string ActorId, string EntityType, string EntityId, Action<JsonElement> Metadata);

    public static TheoryData<string> CapturedCommands() =>
    [
        "workspace.created", "api_key.created", "api_key.revoked", "runner_job.created", "runner_job.status_changed",
        "job_step.created", "job_step.status_changed", "job_step.tokens_recorded",
    ];

    [Theory]
    [MemberData(nameof(CapturedCommands))]
    public async Task Each_command_records_exactly_one_succeeded_row_with_who_what_and_from_where(string action)
    {
        var actor = await NewActorAsync();
        var origin = Origin.New(peer: TrustedProxy, forwardedFor: ClientAddress);

        var expected = await RunAsync(action, actor, origin);

        var row = Assert.Single(await fixture.ActivityRowsForAsync(expected.WorkspaceId, origin));
        Assert.Equal(action, row.Action);
        Assert.Equal("SUCCEEDED", row.Outcome);
        Assert.Equal(expected.WorkspaceId, row.WorkspaceId);
        Assert.Equal(expected.ActorId, row.ActorId);
        Assert.Equal(expected.EntityType, row.EntityType);
        Assert.Equal(expected.EntityId, row.EntityId);
        Assert.Equal(ClientAddress, row.IpAddress);
        Assert.Equal(origin.UserAgent, row.UserAgent);
        Assert.Equal(origin.CorrelationId, row.CorrelationId);
        Assert.InRange(row.OccurredAt, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
        expected.Metadata(row.MetadataJson);
        Assert.True(row.Metadata is null || !row.MetadataJson.TryGetProperty("error", out _), "a success carries no error");
        if (expected.WorkspaceId != actor.WorkspaceId)
        {
            Assert.Empty(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        }

        // The API answers the same record, in exactly the documented shape.
        var reader = expected.WorkspaceId == actor.WorkspaceId ? actor.Client : fixture.Client(await fixture.CreateKeyAsync(expected.WorkspaceId, "user:auditor", ["activity:read"]));
        var record = (await reader.GetJsonAsync($"/api/activity/{row.Id}")).EnsureStatus(200).Json;
        Assert.Equal(RecordProperties.Order(StringComparer.Ordinal), record.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(row.Id, record.Id());
        Assert.Equal(expected.WorkspaceId, record.GetProperty("workspaceId").GetGuid());
        Assert.Equal(expected.ActorId, record.Str("actorId"));
        Assert.Equal(action, record.Str("action"));
        Assert.Equal(expected.EntityType, record.Str("entityType"));
        Assert.Equal(expected.EntityId, record.Str("entityId"));
        Assert.Equal("SUCCEEDED", record.Str("outcome"));
        Assert.Equal(ClientAddress, record.Str("ipAddress"));
        Assert.Equal(origin.UserAgent, record.Str("userAgent"));
        Assert.Equal(origin.CorrelationId, record.Str("correlationId"));
        Assert.Equal(row.OccurredAt, record.GetProperty("occurredAt").GetDateTime().ToUniversalTime());
        expected.Metadata(record.GetProperty("metadata"));
    }

    [Fact]
    public async Task A_refused_transition_rolls_back_and_leaves_one_failed_row_and_no_succeeded_row()
    {
        var actor = await NewActorAsync();
        var jobId = (await actor.Client.CreateJobAsync()).Id();
        var origin = Origin.New();

        (await actor.Client.SendAsync(HttpMethod.Post, $"/api/runner-jobs/{jobId}/status", new { status = "COMPLETED" }, origin))
            .EnsureProblem(409, "invalid_transition");

        var row = Assert.Single(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        Assert.Equal("FAILED", row.Outcome);
        Assert.Equal("runner_job.status_changed", row.Action);
        Assert.Equal(jobId.ToString(), row.EntityId);
        Assert.Equal(actor.ActorId, row.ActorId);
        Assert.Equal("invalid_transition", row.MetadataJson.GetProperty("error").GetString());
        Assert.Equal("COMPLETED", row.MetadataJson.GetProperty("to").GetString());
        Assert.Equal("PENDING", (await actor.Client.GetJsonAsync($"/api/runner-jobs/{jobId}")).Json.Str("status"));
    }

    [Fact]
    public async Task A_command_that_fails_after_its_activity_row_was_written_leaves_no_row_and_no_change()
    {
        var actor = await NewActorAsync();
        var origin = Origin.New() with { CorrelationId = FailAfterCapture.Marker + Guid.NewGuid().ToString("N") };
        var name = "doomed-" + Guid.NewGuid().ToString("N");

        (await actor.Client.SendAsync(HttpMethod.Post, "/api/runner-jobs", new { type = "ci", name }, origin)).EnsureProblem(500);

        Assert.Empty(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        var jobs = (await actor.Client.GetJsonAsync("/api/runner-jobs?limit=1000")).EnsureStatus(200).Json.GetProperty("items");
        Assert.DoesNotContain(jobs.EnumerateArray(), j => j.Str("name") == name);
    }

    /// <summary>The row travels with the COMMIT: refused there, it takes the job down with it, and the answer is the usual one.</summary>
    [Fact]
    public async Task An_activity_row_refused_at_commit_leaves_no_job_and_no_row_and_answers_as_a_refused_insert_does()
    {
        const string Marker = "refuse-activity-row-";
        await fixture.ScalarAsOwnerAsync<int>($$"""
            create or replace function activity.refuse_marked_row() returns trigger language plpgsql as $f$
            begin
                raise exception 'activity row refused' using errcode = 'unique_violation';
            end $f$;
            drop trigger if exists refuse_marked_row on activity.activity_logs;
            create trigger refuse_marked_row before insert on activity.activity_logs
                for each row when (new.correlation_id like '{{Marker}}%') execute function activity.refuse_marked_row();
            select 1
            """);
        var actor = await NewActorAsync();
        var origin = Origin.New() with { CorrelationId = Marker + Guid.NewGuid().ToString("N") };
        var name = "refused-" + Guid.NewGuid().ToString("N");

        (await actor.Client.SendAsync(HttpMethod.Post, "/api/runner-jobs", new { type = "ci", name }, origin)).EnsureProblem(409, "already_exists");

        Assert.Empty(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        Assert.Equal(0L, await fixture.ScalarAsOwnerAsync<long>($"select count(*) from runner_jobs.jobs where name = '{name}'"));
    }

    [Fact]
    public async Task A_missing_scope_leaves_one_denied_row()
    {
        var actor = await NewActorAsync();
        var readerActor = "runner:reader-" + Guid.NewGuid().ToString("N")[..8];
        var reader = fixture.Client(await fixture.CreateKeyAsync(actor.WorkspaceId, readerActor, ["jobs:read"]));
        var origin = Origin.New();

        (await reader.SendAsync(HttpMethod.Post, "/api/runner-jobs", new { type = "ci", name = "sneaky" }, origin)).EnsureProblem(403, "missing_scope");

        var row = Assert.Single(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        Assert.Equal("DENIED", row.Outcome);
        Assert.Equal("runner_job.created", row.Action);
        Assert.Equal("runner_job", row.EntityType);
        Assert.Null(row.EntityId);
        Assert.Equal(readerActor, row.ActorId);
        Assert.Equal("missing_scope", row.MetadataJson.GetProperty("error").GetString());
        Assert.Equal("sneaky", row.MetadataJson.GetProperty("name").GetString());
    }

    [Fact]
    public async Task A_validation_failure_leaves_one_failed_row()
    {
        var actor = await NewActorAsync();
        var origin = Origin.New();

        (await actor.Client.SendAsync(HttpMethod.Post, "/api/runner-jobs", new { type = "not a valid type!", name = "x" }, origin))
            .EnsureProblem(400, "validation_failed");

        var row = Assert.Single(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        Assert.Equal("FAILED", row.Outcome);
        Assert.Equal("runner_job.created", row.Action);
        Assert.Equal("validation_failed", row.MetadataJson.GetProperty("error").GetString());
        Assert.Equal("not a valid type!", row.MetadataJson.GetProperty("type").GetString());
    }

    [Fact]
    public async Task A_command_on_an_unknown_job_leaves_one_failed_row_naming_it()
    {
        var actor = await NewActorAsync();
        var missing = Guid.CreateVersion7();
        var origin = Origin.New();

        (await actor.Client.SendAsync(HttpMethod.Post, $"/api/runner-jobs/{missing}/status", new { status = "RUNNING" }, origin))
            .EnsureProblem(404, "job_not_found");

        var row = Assert.Single(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        Assert.Equal(("FAILED", missing.ToString()), (row.Outcome, row.EntityId));
        Assert.Equal("job_not_found", row.MetadataJson.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_refused_step_transition_leaves_one_failed_row_on_the_step()
    {
        var actor = await NewActorAsync();
        var jobId = (await actor.Client.CreateJobAsync()).Id();
        var stepId = (await actor.Client.CreateStepAsync(jobId, "compile")).Id();
        var origin = Origin.New();

        (await actor.Client.SendAsync(HttpMethod.Post, $"/api/runner-jobs/{jobId}/steps/{stepId}/status", new { status = "COMPLETED" }, origin))
            .EnsureStatus(409);

        var row = Assert.Single(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
        Assert.Equal(("job_step.status_changed", "FAILED", stepId.ToString()), (row.Action, row.Outcome, row.EntityId));
    }

    [Fact]
    public async Task Queries_are_not_captured()
    {
        var actor = await NewActorAsync();
        var jobId = (await actor.Client.CreateJobAsync()).Id();
        var origin = Origin.New();

        (await actor.Client.SendAsync(HttpMethod.Get, $"/api/runner-jobs/{jobId}", null, origin)).EnsureStatus(200);
        (await actor.Client.SendAsync(HttpMethod.Get, "/api/runner-jobs", null, origin)).EnsureStatus(200);
        (await actor.Client.SendAsync(HttpMethod.Get, "/api/activity", null, origin)).EnsureStatus(200);
        (await actor.Client.SendAsync(HttpMethod.Get, $"/api/runner-jobs/{Guid.CreateVersion7()}", null, origin)).EnsureStatus(404);

        Assert.Empty(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
    }

    [Fact]
    public async Task The_audit_trail_of_a_job_lists_its_creation_and_every_status_change_in_order()
    {
        var actor = await NewActorAsync();
        var jobId = (await actor.Client.CreateJobAsync("ci", "audited")).Id();
        (await actor.Client.SetJobStatusAsync(jobId, "QUEUED")).EnsureStatus(200);
        (await actor.Client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        (await actor.Client.SetJobStatusAsync(jobId, "QUEUED")).EnsureStatus(409);
        (await actor.Client.SetJobStatusAsync(jobId, "FAILED", "exit 1")).EnsureStatus(200);
        await actor.Client.CreateJobAsync("ci", "another job");

        var expected = new[]
        {
            ("runner_job.created", "SUCCEEDED", (string?)null),
            ("runner_job.status_changed", "SUCCEEDED", "QUEUED"),
            ("runner_job.status_changed", "SUCCEEDED", "RUNNING"),
            ("runner_job.status_changed", "FAILED", "QUEUED"),
            ("runner_job.status_changed", "SUCCEEDED", "FAILED"),
        };
        foreach (var limit in new[] { 100, 2, 1 })
        {
            var trail = await actor.Client.AllPagesAsync($"/api/activity/audit/runner_job/{jobId}", limit);
            Assert.Equal(expected, trail.Select(a => (
                a.Str("action")!,
                a.Str("outcome")!,
                a.GetProperty("metadata").TryGetProperty("to", out var to) ? to.GetString() : null)));
            Assert.All(trail, a => Assert.Equal(jobId.ToString(), a.Str("entityId")));
            Assert.Equal(trail.Select(a => a.GetProperty("occurredAt").GetDateTime()).Order(), trail.Select(a => a.GetProperty("occurredAt").GetDateTime()));
        }
    }

    [Fact]
    public async Task The_client_address_is_the_forwarded_one_only_when_the_peer_is_a_trusted_proxy()
    {
        var actor = await NewActorAsync();
        var cases = new (Origin Origin, string? Recorded)[]
        {
            (Origin.New(peer: TrustedProxy, forwardedFor: "203.0.113.50"), "203.0.113.50"),
            (Origin.New(peer: "198.51.100.9", forwardedFor: "203.0.113.50"), "198.51.100.9"),
            (Origin.New(peer: "2001:db8::17"), "2001:db8::17"),
            (Origin.New(peer: "::ffff:198.51.100.10"), "198.51.100.10"),
            // No TCP peer at all (TestServer; a Unix socket): the header has nobody to vouch for it.
            (Origin.New(forwardedFor: "203.0.113.50"), null),
        };

        foreach (var (origin, recorded) in cases)
        {
            (await actor.Client.SendAsync(HttpMethod.Post, "/api/runner-jobs", new { type = "ci" }, origin)).EnsureStatus(201);
            var row = Assert.Single(await fixture.ActivityRowsForAsync(actor.WorkspaceId, origin));
            Assert.True(recorded == row.IpAddress, $"peer {origin.Peer}, X-Forwarded-For {origin.ForwardedFor}: expected {recorded ?? "null"}, recorded {row.IpAddress ?? "null"}");
        }
    }

    [Fact]
    public async Task Creating_an_api_key_never_puts_its_plaintext_in_the_activity_log()
    {
        var actor = await NewActorAsync();
        var created = (await actor.Client.PostJsonAsync($"/api/workspaces/{actor.WorkspaceId}/api-keys",
            new { name = "deploy", actorId = "runner:deploy", scopes = new[] { "jobs:write" } })).EnsureStatus(201).Json;
        var plaintext = created.Str("key")!;
        var secret = plaintext[(plaintext.LastIndexOf('_') + 1)..];

        var leaks = await fixture.QueryAsServiceAsync(
            $"select count(*) from activity.activity_logs a where a::text like '%{secret}%'", actor.WorkspaceId.ToString(), r => r.GetInt64(0));
        Assert.Equal(0, Assert.Single(leaks));
        Assert.Single(await fixture.ActivityRowsAsync(actor.WorkspaceId, $"action = 'api_key.created' and entity_id = '{created.Id()}'"));
    }

    private async Task<Actor> NewActorAsync()
    {
        var tenant = await fixture.CreateTenantAsync();
        var actorId = "user:alice-" + Guid.NewGuid().ToString("N")[..8];
        var key = await fixture.CreateKeyAsync(tenant.WorkspaceId, actorId,
            ["jobs:read", "jobs:write", "activity:read", "activity:write", "admin"]);
        return new Actor(tenant.WorkspaceId, actorId, fixture.Client(key));
    }

    private async Task<Expected> RunAsync(string action, Actor actor, Origin origin)
    {
        var client = actor.Client;
        switch (action)
        {
            case "workspace.created":
            {
                var slug = "ws-" + Guid.NewGuid().ToString("N")[..12];
                var created = (await fixture.Client().SendAsync(HttpMethod.Post, "/api/workspaces", new { slug, name = "Team" }, origin)).EnsureStatus(201).Json;
                return new Expected(created.Id(), "system:bootstrap", "workspace", created.Id().ToString(),
                    m => Assert.Equal(slug, m.GetProperty("slug").GetString()));
            }

            case "api_key.created":
            {
                var created = (await client.SendAsync(HttpMethod.Post, $"/api/workspaces/{actor.WorkspaceId}/api-keys",
                    new { name = "ci", actorId = "runner:ci-1", scopes = new[] { "jobs:read", "jobs:write" } }, origin)).EnsureStatus(201).Json;
                return new Expected(actor.WorkspaceId, actor.ActorId, "api_key", created.Id().ToString(), m =>
                {
                    Assert.Equal("ci", m.GetProperty("name").GetString());
                    Assert.Equal("runner:ci-1", m.GetProperty("keyActorId").GetString());
                    Assert.Equal(["jobs:read", "jobs:write"], m.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
                });
            }

            case "api_key.revoked":
            {
                var keyId = (await client.PostJsonAsync($"/api/workspaces/{actor.WorkspaceId}/api-keys",
                    new { name = "old", actorId = "runner:old", scopes = new[] { "jobs:read" } })).EnsureStatus(201).Json.Id();
                (await client.SendAsync(HttpMethod.Delete, $"/api/workspaces/{actor.WorkspaceId}/api-keys/{keyId}", null, origin)).EnsureStatus(204);
                return new Expected(actor.WorkspaceId, actor.ActorId, "api_key", keyId.ToString(), m => Assert.Equal(JsonValueKind.Null, m.ValueKind));
            }

            case "runner_job.created":
            {
                var job = (await client.SendAsync(HttpMethod.Post, "/api/runner-jobs", new { type = "ci", name = "build #7" }, origin)).EnsureStatus(201).Json;
                return new Expected(actor.WorkspaceId, actor.ActorId, "runner_job", job.Id().ToString(), m =>
                {
                    Assert.Equal("ci", m.GetProperty("type").GetString());
                    Assert.Equal("build #7", m.GetProperty("name").GetString());
                });
            }

            case "runner_job.status_changed":
            {
                var jobId = (await client.CreateJobAsync()).Id();
                (await client.SendAsync(HttpMethod.Post, $"/api/runner-jobs/{jobId}/status", new { status = "QUEUED" }, origin)).EnsureStatus(200);
                return new Expected(actor.WorkspaceId, actor.ActorId, "runner_job", jobId.ToString(),
                    m => Assert.Equal("QUEUED", m.GetProperty("to").GetString()));
            }

            case "job_step.created":
            {
                var jobId = (await client.CreateJobAsync()).Id();
                var step = (await client.SendAsync(HttpMethod.Post, $"/api/runner-jobs/{jobId}/steps",
                    new { name = "compile", phase = "EXECUTION", type = "COMMAND" }, origin)).EnsureStatus(201).Json;
                return new Expected(actor.WorkspaceId, actor.ActorId, "job_step", step.Id().ToString(), m =>
                {
                    Assert.Equal(jobId.ToString(), m.GetProperty("jobId").GetString());
                    Assert.Equal("compile", m.GetProperty("name").GetString());
                    Assert.Equal(1, m.GetProperty("ordinal").GetInt32());
                });
            }

            case "job_step.status_changed":
            {
                var jobId = (await client.CreateJobAsync()).Id();
                var stepId = (await client.CreateStepAsync(jobId, "test")).Id();
                (await client.SendAsync(HttpMethod.Post, $"/api/runner-jobs/{jobId}/steps/{stepId}/status", new { status = "RUNNING" }, origin)).EnsureStatus(200);
                return new Expected(actor.WorkspaceId, actor.ActorId, "job_step", stepId.ToString(), m =>
                {
                    Assert.Equal(jobId.ToString(), m.GetProperty("jobId").GetString());
                    Assert.Equal("RUNNING", m.GetProperty("to").GetString());
                });
            }

            case "job_step.tokens_recorded":
            {
                var jobId = (await client.CreateJobAsync()).Id();
                var stepId = (await client.CreateStepAsync(jobId, "review", "VALIDATION", "AI_ACTION")).Id();
                (await client.SendAsync(HttpMethod.Post, $"/api/runner-jobs/{jobId}/steps/{stepId}/tokens", new { input = 1200, output = 350 }, origin)).EnsureStatus(200);
                return new Expected(actor.WorkspaceId, actor.ActorId, "job_step", stepId.ToString(), m =>
                {
                    Assert.Equal(1200, m.GetProperty("input").GetInt64());
                    Assert.Equal(350, m.GetProperty("output").GetInt64());
                });
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(action), action, "no scenario for this action");
        }
    }
}
