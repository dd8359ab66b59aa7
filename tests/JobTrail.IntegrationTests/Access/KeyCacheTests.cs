using System.Net.Http.Headers;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.Platform;
using JobTrail.Modules.Access.Authentication;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace JobTrail.IntegrationTests.Access;

/// <summary>Two instances on one database and the shared Valkey; cached keys live a minute, so only the revocation signal can end them sooner.</summary>
public sealed class KeyCacheFixture() : TwoInstancesFixture(new Dictionary<string, string?> { ["JobTrail:Access:KeyCacheMaxAge"] = "00:01:00" });

/// <summary>Two instances on a Valkey of the test's own, stopped on purpose; cached keys live two seconds.</summary>
public sealed class KeyCacheWithoutValkeyFixture : TwoInstancesOnPrivateValkeyFixture
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(2);

    public KeyCacheWithoutValkeyFixture()
        : this(new ValkeyServer())
    {
    }

    private KeyCacheWithoutValkeyFixture(ValkeyServer valkey)
        : base(valkey, new Dictionary<string, string?> { ["JobTrail:Access:KeyCacheMaxAge"] = MaxAge.ToString() })
    {
    }
}

internal static class KeyCacheSupport
{
    public static HttpClient ClientOf(JobTrailApp app, string key)
    {
        var client = app.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    public static ApiKeyCache Cache(JobTrailApp app) => app.Services.GetRequiredService<ApiKeyCache>();

    public static Guid KeyId(string key) => Guid.ParseExact(key.Substring(3, 32), "N");

    /// <summary>Two requests: the first reads the key, the second must be answered from the cache.</summary>
    public static async Task WarmAsync(JobTrailApp app, HttpClient client)
    {
        (await client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        var hits = Cache(app).Hits;
        (await client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        Assert.True(Cache(app).Hits > hits, "the second request with the key was not answered from the cache");
    }

    public static async Task RevokeAsync(HttpClient admin, Guid workspaceId, Guid keyId) =>
        (await admin.DeleteAsync2($"/api/workspaces/{workspaceId}/api-keys/{keyId}")).EnsureStatus(204);
}

public sealed class KeyCacheTests(KeyCacheFixture fixture) : IClassFixture<KeyCacheFixture>
{
    // A correctness bound on the Pub/Sub path (the cache here trusts a key for a minute), not a measurement.
    private static readonly TimeSpan OneSecond = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_cached_key_is_refused_on_the_next_request_after_it_is_revoked_on_the_same_instance()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "admin");
        var runnerKey = await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:cached", ["jobs:read"], tenant.Key);
        var runner = fixture.Client(runnerKey);
        await KeyCacheSupport.WarmAsync(fixture.App, runner);

        await KeyCacheSupport.RevokeAsync(tenant.Client, tenant.WorkspaceId, KeyCacheSupport.KeyId(runnerKey));

        var refused = await runner.GetJsonAsync("/api/runner-jobs");
        refused.EnsureProblem(401, "unauthorized");
        Assert.Contains("revoked", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_revoked_on_one_instance_is_refused_by_another_within_one_second()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "admin");
        var runnerKey = await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:elsewhere", ["jobs:read"], tenant.Key);
        var onOther = KeyCacheSupport.ClientOf(fixture.Other, runnerKey);
        await KeyCacheSupport.WarmAsync(fixture.Other, onOther);

        await KeyCacheSupport.RevokeAsync(tenant.Client, tenant.WorkspaceId, KeyCacheSupport.KeyId(runnerKey));

        var refused = await Eventually.GetAsync(() => onOther.GetJsonAsync("/api/runner-jobs"), r => r.Status == 401, OneSecond,
            "the other instance to refuse the revoked key");
        refused.EnsureProblem(401, "unauthorized");
        Assert.Contains("revoked", refused.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_forged_revocation_message_only_makes_the_key_be_read_again()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read");
        var onOther = KeyCacheSupport.ClientOf(fixture.Other, tenant.Key);
        await KeyCacheSupport.WarmAsync(fixture.Other, onOther);
        var cache = KeyCacheSupport.Cache(fixture.Other);
        var held = cache.Count;

        var valkey = Environment.GetEnvironmentVariable("JobTrail__Valkey") ?? throw new InvalidOperationException("JobTrail__Valkey is not set.");
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(valkey))
        {
            var channel = RedisChannel.Literal(KeyRevocations.Channel);
            await connection.GetSubscriber().PublishAsync(channel, "grant everything to jt_" + new string('0', 32));
            await connection.GetSubscriber().PublishAsync(channel, KeyCacheSupport.KeyId(tenant.Key).ToString("N"));
        }

        await Eventually.TrueAsync(() => cache.Count < held, TimeSpan.FromSeconds(5), "the named key to leave the other instance's cache");
        var hits = cache.Hits;
        (await onOther.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        Assert.Equal(hits, cache.Hits);
        (await KeyCacheSupport.ClientOf(fixture.Other, "jt_" + new string('0', 32) + "_" + new string('a', 64)).GetJsonAsync("/api/runner-jobs"))
            .EnsureProblem(401, "unauthorized");
    }
}

public sealed class KeyCacheWithoutValkeyTests(KeyCacheWithoutValkeyFixture fixture) : IClassFixture<KeyCacheWithoutValkeyFixture>
{
    [Fact]
    public async Task Without_valkey_a_key_revoked_on_another_instance_is_refused_once_the_cache_age_bound_passes()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "admin");
        var runnerKey = await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:no-signal", ["jobs:read"], tenant.Key);
        var onOther = KeyCacheSupport.ClientOf(fixture.Other, runnerKey);
        await KeyCacheSupport.WarmAsync(fixture.Other, onOther);

        await fixture.Valkey.StopAsync();
        await KeyCacheSupport.RevokeAsync(tenant.Client, tenant.WorkspaceId, KeyCacheSupport.KeyId(runnerKey));

        // The age bound plus room for a slow machine: past it the other instance reads the key again.
        var refused = await Eventually.GetAsync(() => onOther.GetJsonAsync("/api/runner-jobs"), r => r.Status == 401,
            KeyCacheWithoutValkeyFixture.MaxAge + TimeSpan.FromSeconds(3), "the other instance to refuse the revoked key");
        refused.EnsureProblem(401, "unauthorized");
        Assert.Contains("revoked", refused.Detail, StringComparison.Ordinal);
    }
}
