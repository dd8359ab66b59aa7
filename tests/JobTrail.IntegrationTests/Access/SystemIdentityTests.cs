using JobTrail.IntegrationTests.Activity;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.Access;

namespace JobTrail.IntegrationTests.Access;

/// <summary>
/// The system identity belongs to the service: only a <c>system</c> key may revoke a <c>system</c>
/// key, and no key created through the API may act as a <c>system:</c> actor.
/// </summary>
public sealed class SystemIdentityTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    private Guid BootstrapKeyId => Guid.ParseExact(fixture.BootstrapKey.Substring(3, 32), "N");

    [Fact]
    public async Task Only_a_system_key_may_revoke_a_system_key_and_a_plain_admins_attempt_is_recorded_as_denied()
    {
        var adminActor = "user:admin-" + Guid.NewGuid().ToString("N")[..8];
        var admin = fixture.Client(await fixture.CreateKeyAsync(fixture.DefaultWorkspaceId, adminActor, ["admin"]));
        var origin = Origin.New();

        var refused = await admin.SendAsync(HttpMethod.Delete, $"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys/{BootstrapKeyId}", null, origin);

        refused.EnsureProblem(403, "missing_scope");
        Assert.Contains("'system'", refused.Detail, StringComparison.Ordinal);
        var revokedAt = await fixture.ScalarAsOwnerAsync<DateTime?>(
            $"select revoked_at from access.api_keys where id = '{BootstrapKeyId}'", fixture.DefaultWorkspaceId.ToString());
        Assert.Null(revokedAt);
        (await fixture.Client().PostJsonAsync("/api/workspaces", new { slug = "after-" + Guid.NewGuid().ToString("N")[..8], name = "x" })).EnsureStatus(201);
        var row = Assert.Single(await fixture.ActivityRowsForAsync(fixture.DefaultWorkspaceId, origin));
        Assert.Equal(("api_key.revoked", "api_key", BootstrapKeyId.ToString(), "DENIED", adminActor),
            (row.Action, row.EntityType, row.EntityId, row.Outcome, row.ActorId));
        Assert.Equal("missing_scope", row.MetadataJson.GetProperty("error").GetString());

        // The rule is about the system scope, not about admins: ordinary keys are still theirs to revoke.
        var runnerKey = await fixture.CreateKeyAsync(fixture.DefaultWorkspaceId, "runner:r2", ["jobs:read"]);
        (await admin.DeleteAsync2($"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys/{Guid.ParseExact(runnerKey.Substring(3, 32), "N")}"))
            .EnsureStatus(204);
        (await fixture.Client(runnerKey).GetJsonAsync("/api/runner-jobs")).EnsureProblem(401);
        var secondSystemKey = await InsertSystemKeyAsync();
        (await admin.DeleteAsync2($"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys/{secondSystemKey}")).EnsureProblem(403, "missing_scope");
        (await fixture.Client().DeleteAsync2($"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys/{secondSystemKey}")).EnsureStatus(204);
    }

    [Theory]
    [InlineData("system:bootstrap")]
    [InlineData("system:x")]
    [InlineData("System:x")]
    [InlineData("SYSTEM:x")]
    [InlineData("sYsTeM:relay")]
    [InlineData(" system:x")]
    [InlineData("\tSYSTEM:x")]
    [InlineData("system:x\n")]
    [InlineData("ｓｙｓｔｅｍ：x")]
    [InlineData("ѕуѕtеm:x")]
    public async Task No_key_may_be_created_with_a_system_actor_not_even_by_the_system_key(string actorId)
    {
        var tenant = await fixture.CreateTenantAsync();
        var keysBefore = await KeyCountAsync(tenant.WorkspaceId);

        foreach (var caller in new[] { tenant.Client, fixture.Client() })
        {
            var response = await caller.PostJsonAsync($"/api/workspaces/{tenant.WorkspaceId}/api-keys", new { name = "sneaky", actorId, scopes = new[] { "jobs:read" } });

            response.EnsureProblem(400, "validation_failed");
            Assert.True(response.Json.GetProperty("errors").TryGetProperty("actorId", out _), response.Body);
        }

        Assert.Equal(keysBefore, await KeyCountAsync(tenant.WorkspaceId));
    }

    [Fact]
    public async Task The_reserved_prefix_is_named_in_the_refusal_and_only_the_kind_is_reserved()
    {
        var tenant = await fixture.CreateTenantAsync();

        var refused = await tenant.Client.PostJsonAsync($"/api/workspaces/{tenant.WorkspaceId}/api-keys", new { name = "k", actorId = "System:bootstrap", scopes = new[] { "jobs:read" } });

        refused.EnsureProblem(400, "validation_failed");
        Assert.Contains("reserved", refused.Json.GetProperty("errors").GetProperty("actorId")[0].GetString(), StringComparison.Ordinal);
        foreach (var allowed in new[] { "user:system", "systemd:unit", "runner:system:x", "system-bot:1" })
        {
            (await tenant.Client.PostJsonAsync($"/api/workspaces/{tenant.WorkspaceId}/api-keys", new { name = "k", actorId = allowed, scopes = new[] { "jobs:read" } }))
                .EnsureStatus(201);
        }
    }

    /// <summary>A second key with the system scope, written the way the bootstrap writes one (only the service makes them).</summary>
    private async Task<Guid> InsertSystemKeyAsync()
    {
        var (keyId, _, hash) = ApiKeyFormat.Generate();
        await fixture.ScalarAsOwnerAsync<int>(
            $"""
            insert into access.api_key_directory (key_id, workspace_id) values ('{keyId}', '{fixture.DefaultWorkspaceId}');
            insert into access.api_keys (id, workspace_id, name, actor_id, scopes, secret_hash, created_at, created_by)
            values ('{keyId}', '{fixture.DefaultWorkspaceId}', 'second', 'system:second', array['admin', 'system'], '\x{Convert.ToHexStringLower(hash)}', now(), 'system:bootstrap');
            """,
            fixture.DefaultWorkspaceId.ToString());
        return keyId;
    }

    private async Task<long> KeyCountAsync(Guid workspaceId) =>
        await fixture.ScalarAsOwnerAsync<long>("select count(*) from access.api_keys", workspaceId.ToString());
}
