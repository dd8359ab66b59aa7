using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Activity;

public sealed class RecordActivityTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    private const string IdentityProvider = "idp:okta";

    [Fact]
    public async Task Recording_an_outside_activity_answers_the_record_and_writes_exactly_one_row()
    {
        var (workspaceId, client) = await IdentityProviderAsync();
        var origin = Origin.New();

        var response = await client.SendAsync(HttpMethod.Post, "/api/activity",
            new { action = "auth.login", entityType = "user", entityId = "42", metadata = new { method = "sso", mfa = true } }, origin);

        var record = response.EnsureStatus(201).Json;
        Assert.Equal($"/api/activity/{record.Id()}", response.Message.Headers.Location?.OriginalString);
        Assert.Equal(workspaceId, record.GetProperty("workspaceId").GetGuid());
        Assert.Equal(IdentityProvider, record.Str("actorId"));
        Assert.Equal(("auth.login", "user", "42", "SUCCEEDED"), (record.Str("action"), record.Str("entityType"), record.Str("entityId"), record.Str("outcome")));
        Assert.Equal("sso", record.GetProperty("metadata").GetProperty("method").GetString());
        Assert.Equal((origin.UserAgent, origin.CorrelationId), (record.Str("userAgent"), record.Str("correlationId")));

        var row = Assert.Single(await fixture.ActivityRowsForAsync(workspaceId, origin));
        Assert.Equal((record.Id(), "SUCCEEDED", IdentityProvider), (row.Id, row.Outcome, row.ActorId));

        var fetched = (await client.GetJsonAsync($"/api/activity/{record.Id()}")).EnsureStatus(200).Json;
        Assert.Equal(
            record.EnumerateObject().Where(p => p.Name != "metadata").Select(p => (p.Name, p.Value.GetRawText())),
            fetched.EnumerateObject().Where(p => p.Name != "metadata").Select(p => (p.Name, p.Value.GetRawText())));
        Assert.True(JsonElement.DeepEquals(record.GetProperty("metadata"), fetched.GetProperty("metadata")));
    }

    [Fact]
    public async Task An_identity_provider_may_report_a_failed_login()
    {
        var (workspaceId, client) = await IdentityProviderAsync();
        var origin = Origin.New();

        var record = (await client.SendAsync(HttpMethod.Post, "/api/activity",
            new { action = "auth.login", entityType = "user", entityId = "42", outcome = "FAILED" }, origin)).EnsureStatus(201).Json;

        Assert.Equal("FAILED", record.Str("outcome"));
        Assert.Equal(JsonValueKind.Null, record.GetProperty("metadata").ValueKind);
        Assert.Equal("FAILED", Assert.Single(await fixture.ActivityRowsForAsync(workspaceId, origin)).Outcome);
    }

    [Fact]
    public async Task Secret_metadata_is_redacted_at_any_depth_and_never_reaches_the_table()
    {
        var (workspaceId, client) = await IdentityProviderAsync();
        const string metadata = """
            {
              "method": "password",
              "password": "hunter2-pw",
              "user": {
                "name": "u42",
                "credentials": { "otp": "918273" },
                "profile": {
                  "apiKey": "ak-live-123",
                  "settings": [ { "accessToken": "at-xyz-789", "theme": "dark" }, { "nested": { "private_key": "BEGIN-KEY-abc" } } ]
                }
              },
              "headers": { "Authorization": "Bearer eyJhbGciOi.payload.sig", "Cookie": "sid=cookie-val-555", "X-Api-Key": "xak-444", "User-Agent": "curl/8" },
              "tokensInput": 1200,
              "prompt_tokens": 7,
              "token": "tok-secret-666",
              "refreshToken": "rt-777",
              "client_secret": "cs-888",
              "note": "pasted jt_0123456789abcdef0123456789abcdef_pastedsecretpastedsecret0123 by mistake",
              "list": [ "plain", { "PASSWORD": "pw-in-array-999" } ]
            }
            """;
        string[] secrets =
        [
            "hunter2-pw", "918273", "ak-live-123", "at-xyz-789", "BEGIN-KEY-abc", "eyJhbGciOi", "cookie-val-555", "xak-444",
            "tok-secret-666", "rt-777", "cs-888", "pastedsecretpastedsecret0123", "pw-in-array-999",
        ];

        var response = await client.PostRawAsync("/api/activity",
            $$"""{"action":"auth.password_reset","entityType":"user","entityId":"42","metadata":{{metadata}}}""");

        var recorded = response.EnsureStatus(201).Json;
        var stored = (await client.GetJsonAsync($"/api/activity/{recorded.Id()}")).EnsureStatus(200).Json.GetProperty("metadata");
        foreach (var m in new[] { recorded.GetProperty("metadata"), stored })
        {
            Assert.Equal("password", m.GetProperty("method").GetString());
            Assert.Equal("[REDACTED]", m.GetProperty("password").GetString());
            Assert.Equal("u42", m.GetProperty("user").GetProperty("name").GetString());
            Assert.Equal("[REDACTED]", m.GetProperty("user").GetProperty("credentials").GetString());
            var profile = m.GetProperty("user").GetProperty("profile");
            Assert.Equal("[REDACTED]", profile.GetProperty("apiKey").GetString());
            Assert.Equal("[REDACTED]", profile.GetProperty("settings")[0].GetProperty("accessToken").GetString());
            Assert.Equal("dark", profile.GetProperty("settings")[0].GetProperty("theme").GetString());
            Assert.Equal("[REDACTED]", profile.GetProperty("settings")[1].GetProperty("nested").GetProperty("private_key").GetString());
            var headers = m.GetProperty("headers");
            Assert.Equal(["[REDACTED]", "[REDACTED]", "[REDACTED]", "curl/8"],
                new[] { "Authorization", "Cookie", "X-Api-Key", "User-Agent" }.Select(h => headers.GetProperty(h).GetString()));
            Assert.Equal(1200, m.GetProperty("tokensInput").GetInt32());
            Assert.Equal(7, m.GetProperty("prompt_tokens").GetInt32());
            Assert.Equal(["[REDACTED]", "[REDACTED]", "[REDACTED]"],
                new[] { "token", "refreshToken", "client_secret" }.Select(k => m.GetProperty(k).GetString()));
            Assert.Equal("pasted [REDACTED] by mistake", m.GetProperty("note").GetString());
            Assert.Equal("plain", m.GetProperty("list")[0].GetString());
            Assert.Equal("[REDACTED]", m.GetProperty("list")[1].GetProperty("PASSWORD").GetString());
        }

        foreach (var secret in secrets)
        {
            var found = await fixture.QueryAsServiceAsync(
                $"select count(*) from activity.activity_logs a where strpos(a::text, '{secret}') > 0", workspaceId.ToString(), r => r.GetInt64(0));
            Assert.True(Assert.Single(found) == 0, $"'{secret}' is stored in activity.activity_logs");
        }
    }

    public static TheoryData<string, string> InvalidBodies() => new()
    {
        { """{"entityType":"user","entityId":"42"}""", "action" },
        { """{"action":"login","entityType":"user","entityId":"42"}""", "action" },
        { """{"action":"Auth.Login","entityType":"user","entityId":"42"}""", "action" },
        { """{"action":"auth.login.extra","entityType":"user","entityId":"42"}""", "action" },
        { """{"action":"auth.login","entityType":"User","entityId":"42"}""", "entityType" },
        { """{"action":"auth.login","entityType":"user"}""", "entityId" },
        { $$"""{"action":"auth.login","entityType":"user","entityId":"{{new string('x', 201)}}"}""", "entityId" },
        { """{"action":"auth.login","entityType":"user","entityId":"a\u0000b"}""", "entityId" },
        { """{"action":"auth.login","entityType":"user","entityId":"42","metadata":[1,2]}""", "metadata" },
        { """{"action":"auth.login","entityType":"user","entityId":"42","metadata":"text"}""", "metadata" },
        { $$$"""{"action":"auth.login","entityType":"user","entityId":"42","metadata":{"blob":"{{{new string('x', 16 * 1024)}}}"}}""", "metadata" },
        { """{"action":"auth.login","entityType":"user","entityId":"42","outcome":"OK"}""", "outcome" },
    };

    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task An_invalid_record_is_a_400_naming_the_field_and_writes_nothing(string body, string field)
    {
        var (workspaceId, client) = await IdentityProviderAsync();
        var before = (await fixture.ActivityRowsAsync(workspaceId)).Count;

        var response = await client.PostRawAsync("/api/activity", body);

        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out _), response.Body);
        Assert.Equal(before, (await fixture.ActivityRowsAsync(workspaceId)).Count);
    }

    [Fact]
    public async Task Unknown_properties_are_refused()
    {
        var (_, client) = await IdentityProviderAsync();
        var response = await client.PostRawAsync("/api/activity", """{"action":"auth.login","entityType":"user","entityId":"42","actorId":"user:someone-else"}""");
        response.EnsureProblem(400, "malformed_json");
    }

    [Theory]
    [InlineData("runner_job.created", "runner_job")]
    [InlineData("workspace.deleted", "workspace")]
    [InlineData("api_key.revoked", "api_key")]
    [InlineData("job_step.status_changed", "job_step")]
    [InlineData("job_event.batch_emitted", "runner_job")]
    public async Task Actions_on_jobtrails_own_entities_cannot_be_sent_from_outside(string action, string entityType)
    {
        var (workspaceId, client) = await IdentityProviderAsync();
        var origin = Origin.New();

        (await client.SendAsync(HttpMethod.Post, "/api/activity", new { action, entityType, entityId = Guid.CreateVersion7().ToString() }, origin))
            .EnsureProblem(422, "reserved_action");

        Assert.Empty(await fixture.ActivityRowsForAsync(workspaceId, origin));
    }

    [Fact]
    public async Task Recording_needs_activity_write_and_reading_needs_activity_read()
    {
        var tenant = await fixture.CreateTenantAsync();
        var reader = fixture.Client(await fixture.CreateKeyAsync(tenant.WorkspaceId, "user:auditor", ["activity:read"]));
        var runner = fixture.Client(await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:ci", ["jobs:read", "jobs:write"]));

        (await reader.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = "1" })).EnsureProblem(403, "missing_scope");
        (await runner.GetJsonAsync("/api/activity")).EnsureProblem(403, "missing_scope");
        (await runner.GetJsonAsync($"/api/activity/audit/runner_job/{Guid.CreateVersion7()}")).EnsureProblem(403, "missing_scope");
        (await reader.GetJsonAsync("/api/activity")).EnsureStatus(200);
        Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await fixture.AnonymousClient().GetAsync("/api/activity")).StatusCode);
    }

    [Fact]
    public async Task An_unknown_or_malformed_activity_id_is_a_404()
    {
        var (_, client) = await IdentityProviderAsync();
        (await client.GetJsonAsync($"/api/activity/{Guid.CreateVersion7()}")).EnsureProblem(404, "activity_not_found");
        (await client.GetJsonAsync("/api/activity/not-a-guid")).EnsureProblem(404);
    }

    private async Task<(Guid WorkspaceId, HttpClient Client)> IdentityProviderAsync()
    {
        var tenant = await fixture.CreateTenantAsync();
        var key = await fixture.CreateKeyAsync(tenant.WorkspaceId, IdentityProvider, ["activity:read", "activity:write"]);
        return (tenant.WorkspaceId, fixture.Client(key));
    }
}
