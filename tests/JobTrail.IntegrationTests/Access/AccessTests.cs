using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Access;

public sealed class AccessTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task A_system_key_creates_a_workspace_and_a_key_that_works_in_it()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "jobs:write");

        var job = await tenant.Client.CreateJobAsync();

        Assert.Equal(tenant.WorkspaceId, job.GetProperty("workspaceId").GetGuid());
        Assert.StartsWith("runner:ws-", job.Str("createdBy"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_created_key_is_shown_once_and_only_its_hash_is_stored()
    {
        var created = (await fixture.Client().PostJsonAsync($"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys",
            new { name = "ci", actorId = "runner:ci-1", scopes = new[] { "jobs:read" } })).EnsureStatus(201).Json;
        var key = created.Str("key")!;
        var secret = key[(3 + 32 + 1)..];

        Assert.Matches("^jt_[0-9a-f]{32}_[0-9a-f]{64}$", key);
        Assert.Equal(["jobs:read"], created.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));
        var listed = (await fixture.Client().GetJsonAsync($"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys")).EnsureStatus(200);
        Assert.DoesNotContain(secret, listed.Body, StringComparison.Ordinal);
        var storedHash = await fixture.ScalarAsOwnerAsync<string>(
            $"select encode(secret_hash, 'hex') from access.api_keys where id = '{created.Id()}'", fixture.DefaultWorkspaceId.ToString());
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret))), storedHash);
        var plaintextRows = await fixture.ScalarAsOwnerAsync<long>(
            $"select count(*) from access.api_keys where position('{secret}' in secret_hash::text) > 0", fixture.DefaultWorkspaceId.ToString());
        Assert.Equal(0, plaintextRows);
    }

    [Fact]
    public async Task A_revoked_key_is_refused_on_its_very_next_request()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "admin");
        var runnerKey = await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:r1", ["jobs:read"], tenant.Key);
        var runner = fixture.Client(runnerKey);
        (await runner.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        var keyId = Guid.ParseExact(runnerKey.Substring(3, 32), "N");

        var revoke = await tenant.Client.DeleteAsync2($"/api/workspaces/{tenant.WorkspaceId}/api-keys/{keyId}");

        revoke.EnsureStatus(204);
        var refused = await runner.GetJsonAsync("/api/runner-jobs");
        refused.EnsureProblem(401, "unauthorized");
        Assert.Contains("revoked", refused.Detail, StringComparison.Ordinal);
        (await tenant.Client.DeleteAsync2($"/api/workspaces/{tenant.WorkspaceId}/api-keys/{keyId}")).EnsureStatus(204);
    }

    [Fact]
    public async Task Only_a_system_key_may_create_workspaces()
    {
        var tenant = await fixture.CreateTenantAsync();

        var response = await tenant.Client.PostJsonAsync("/api/workspaces", new { slug = "sneaky", name = "Sneaky" });

        response.EnsureProblem(403, "missing_scope");
        Assert.Contains("'system'", response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_admin_of_one_workspace_cannot_manage_keys_of_another()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();

        (await b.Client.PostJsonAsync($"/api/workspaces/{a.WorkspaceId}/api-keys", new { name = "x", actorId = "user:1", scopes = new[] { "admin" } }))
            .EnsureProblem(403, "other_workspace");
        (await b.Client.GetJsonAsync($"/api/workspaces/{a.WorkspaceId}/api-keys")).EnsureProblem(403);
        var aKeyId = Guid.ParseExact(a.Key.Substring(3, 32), "N");
        (await b.Client.DeleteAsync2($"/api/workspaces/{a.WorkspaceId}/api-keys/{aKeyId}")).EnsureProblem(403);
        (await b.Client.DeleteAsync2($"/api/workspaces/{b.WorkspaceId}/api-keys/{aKeyId}")).EnsureProblem(404);
        (await a.Client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
    }

    [Fact]
    public async Task A_key_without_admin_cannot_create_keys_even_in_its_own_workspace()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "jobs:write");

        (await tenant.Client.PostJsonAsync($"/api/workspaces/{tenant.WorkspaceId}/api-keys", new { name = "x", actorId = "user:1", scopes = new[] { "jobs:read" } }))
            .EnsureProblem(403, "missing_scope");
    }

    [Fact]
    public async Task A_duplicate_workspace_slug_is_a_409()
    {
        var client = fixture.Client();
        (await client.PostJsonAsync("/api/workspaces", new { slug = "twice", name = "One" })).EnsureStatus(201);

        (await client.PostJsonAsync("/api/workspaces", new { slug = "twice", name = "Two" })).EnsureProblem(409, "slug_taken");
    }

    [Theory]
    [InlineData("{\"slug\":\"Has Spaces\",\"name\":\"x\"}", "slug")]
    [InlineData("{\"slug\":\"ok\"}", "name")]
    public async Task Invalid_workspaces_are_a_400_naming_the_field(string body, string field)
    {
        var response = await fixture.Client().PostRawAsync("/api/workspaces", body);
        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out _), response.Body);
    }

    [Theory]
    [InlineData("{\"name\":\"k\",\"actorId\":\"runner:1\",\"scopes\":[\"jobs:fly\"]}", "scopes[0]")]
    [InlineData("{\"name\":\"k\",\"actorId\":\"runner:1\",\"scopes\":[\"system\"]}", "scopes[0]")]
    [InlineData("{\"name\":\"k\",\"actorId\":\"runner:1\",\"scopes\":[]}", "scopes")]
    [InlineData("{\"name\":\"k\",\"actorId\":\"no-colon\",\"scopes\":[\"jobs:read\"]}", "actorId")]
    [InlineData("{\"actorId\":\"runner:1\",\"scopes\":[\"jobs:read\"]}", "name")]
    public async Task Invalid_keys_are_a_400_naming_the_field(string body, string field)
    {
        var response = await fixture.Client().PostRawAsync($"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys", body);
        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out _), response.Body);
    }

    [Fact]
    public async Task A_key_for_an_unknown_workspace_is_a_404()
    {
        (await fixture.Client().PostJsonAsync($"/api/workspaces/{Guid.CreateVersion7()}/api-keys", new { name = "k", actorId = "user:1", scopes = new[] { "jobs:read" } }))
            .EnsureProblem(404);
    }

    [Theory]
    [InlineData(null, "Send an API key")]
    [InlineData("Basic dXNlcjpwYXNz", "Bearer")]
    [InlineData("Bearer not-a-key", "malformed")]
    [InlineData("Bearer jt_0123456789abcdef0123456789abcdef_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "not valid")]
    public async Task Requests_without_a_valid_key_are_a_401_problem(string? authorization, string expected)
    {
        var client = fixture.AnonymousClient();
        if (authorization is not null)
        {
            client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        }

        var response = await client.GetJsonAsync("/api/runner-jobs");

        response.EnsureProblem(401, "unauthorized");
        Assert.Contains(expected, response.Detail, StringComparison.Ordinal);
        Assert.Equal("Bearer", response.Message.Headers.WwwAuthenticate.ToString());
    }

    [Fact]
    public async Task A_known_key_id_with_a_wrong_secret_is_a_401()
    {
        var wrong = fixture.BootstrapKey[..36] + new string('0', 64);
        (await fixture.Client(wrong).GetJsonAsync("/api/runner-jobs")).EnsureProblem(401, "unauthorized");
    }

    [Theory]
    [InlineData("GET", "/api/runner-jobs", "jobs:write")]
    [InlineData("POST", "/api/runner-jobs", "jobs:read")]
    public async Task A_key_lacking_the_scope_gets_a_403_naming_it(string method, string path, string grantedInstead)
    {
        var tenant = await fixture.CreateTenantAsync(grantedInstead);

        var response = method == "GET"
            ? await tenant.Client.GetJsonAsync(path)
            : await tenant.Client.PostJsonAsync(path, new { type = "ci" });

        response.EnsureProblem(403, "missing_scope");
        Assert.Contains(method == "GET" ? "jobs:read" : "jobs:write", response.Detail, StringComparison.Ordinal);
    }
}
