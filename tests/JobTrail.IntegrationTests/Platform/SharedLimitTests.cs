using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Access;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.Streaming;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>Two instances on one database and the shared Valkey.</summary>
public abstract class TwoInstancesFixture(IReadOnlyDictionary<string, string?> settings) : JobTrailFixture(settings, null)
{

    internal JobTrailApp Other { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Other = StartAnotherInstance();
    }

    public override async Task DisposeAsync()
    {
        await Other.DisposeAsync();
        await base.DisposeAsync();
    }
}

/// <summary>The same two instances on a Valkey of the test's own, which the test stops.</summary>
public sealed class SharedLimitWithoutValkeyFixture() : TwoInstancesOnPrivateValkeyFixture(new ValkeyServer(), SharedLimitSettings.Tiny);

/// <summary>Two instances; a bucket of five tokens refilled once an hour.</summary>
public sealed class SharedLimitFixture() : TwoInstancesFixture(SharedLimitSettings.Tiny);

/// <summary>Two instances; two streams per workspace, one per key.</summary>
public sealed class SharedStreamCapFixture() : TwoInstancesFixture(new Dictionary<string, string?> { ["JobTrail:Events:Stream:MaxStreamsPerWorkspace"] = "2" });

internal static class SharedLimitSettings
{
    public static readonly Dictionary<string, string?> Tiny = new()
    {
        ["JobTrail:RateLimit:PerSecond"] = "1",
        ["JobTrail:RateLimit:Burst"] = "5",
        ["JobTrail:RateLimit:ReplenishmentPeriod"] = "01:00:00",
    };

    /// <summary>A stream request read as far as its status; an open stream is handed back to be closed by the caller.</summary>
    public static async Task<(int Status, ApiResponse? Refusal, HttpResponseMessage? Open)> TryOpenAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        return (int)response.StatusCode == 200
            ? (200, null, response)
            : ((int)response.StatusCode, await HttpClientJsonExtensions.ReadAsync(response), null);
    }
}

public sealed class SharedLimitTests(SharedLimitFixture fixture) : IClassFixture<SharedLimitFixture>
{
    [Fact]
    public async Task Two_instances_together_admit_no_more_than_one_keys_allowance()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read");
        var here = fixture.Client(tenant.Key);
        var there = KeyCacheSupport.ClientOf(fixture.Other, tenant.Key);

        var statuses = new List<ApiResponse>();
        for (var i = 0; i < 12; i++)
        {
            statuses.Add(await (i % 2 == 0 ? here : there).GetJsonAsync("/api/runner-jobs"));
        }

        // The bucket cannot refill during the test: five requests in all pass, whichever instance they reach.
        Assert.Equal(Enumerable.Repeat(200, 5).Concat(Enumerable.Repeat(429, 7)), statuses.Select(r => r.Status));
        var limited = statuses[^1].EnsureProblem(429, "rate_limited");
        Assert.True(int.Parse(limited.Message.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
    }
}

public sealed class SharedStreamCapTests(SharedStreamCapFixture fixture) : IClassFixture<SharedStreamCapFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_keys_stream_on_one_instance_counts_against_its_cap_on_another()
    {
        var tenant = await fixture.CreateTenantAsync();
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        var path = $"/api/runner-jobs/{jobId}/events/stream";
        var there = KeyCacheSupport.ClientOf(fixture.Other, tenant.Key);

        var first = await SseClient.OpenAsync(tenant.Client, path);
        try
        {
            Assert.Equal(200, (int)first.Response.StatusCode);
            var (status, refusal, open) = await SharedLimitSettings.TryOpenAsync(there, path);
            open?.Dispose();
            Assert.Equal(429, status);
            refusal!.EnsureProblem(429, "too_many_streams");
            Assert.Contains("API key", refusal.Detail, StringComparison.Ordinal);
        }
        finally
        {
            await first.DisposeAsync();
        }

        // Closed on the first instance, the slot is free on the other.
        var reopened = await Eventually.GetAsync(
            async () => await SharedLimitSettings.TryOpenAsync(there, path), r => r.Status == 200, Deadline, "the released slot to be usable on the other instance");
        reopened.Open!.Dispose();
    }

    [Fact]
    public async Task A_workspaces_streams_on_two_instances_count_against_one_cap()
    {
        var tenant = await fixture.CreateTenantAsync();
        var second = await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:second", ["events:read"], tenant.Key);
        var third = await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:third", ["events:read"], tenant.Key);
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        var path = $"/api/runner-jobs/{jobId}/events/stream";

        var first = await SseClient.OpenAsync(tenant.Client, path);
        var other = await SseClient.OpenAsync(KeyCacheSupport.ClientOf(fixture.Other, second), path);
        try
        {
            Assert.Equal((200, 200), ((int)first.Response.StatusCode, (int)other.Response.StatusCode));
            var (status, refusal, open) = await SharedLimitSettings.TryOpenAsync(KeyCacheSupport.ClientOf(fixture.Other, third), path);
            open?.Dispose();
            Assert.Equal(429, status);
            refusal!.EnsureProblem(429, "too_many_streams");
            Assert.Contains("workspace already has 2", refusal.Detail, StringComparison.Ordinal);
        }
        finally
        {
            await first.DisposeAsync();
            await other.DisposeAsync();
        }
    }

    [Fact]
    public async Task The_stream_slots_of_an_instance_that_died_free_themselves_when_their_leases_expire()
    {
        var tenant = await fixture.CreateTenantAsync();
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        var keyId = KeyCacheSupport.KeyId(tenant.Key);
        // A lease of an instance that died: never renewed, it lives one second.
        var valkey = fixture.App.Services.GetRequiredService<IValkeyClient>();
        Assert.Equal(SlotRefusal.None, await valkey.TryLeaseAsync(
            SharedKeys.StreamLeases(tenant.WorkspaceId), SharedKeys.StreamLeases(tenant.WorkspaceId, keyId), "dead-instance", 2, 1, TimeSpan.FromSeconds(1)));

        var path = $"/api/runner-jobs/{jobId}/events/stream";
        var opened = await Eventually.GetAsync(
            async () => await SharedLimitSettings.TryOpenAsync(tenant.Client, path), r => r.Status == 200, Deadline, "the dead instance's lease to expire");
        opened.Open!.Dispose();
    }
}

public sealed class SharedLimitWithoutValkeyTests(SharedLimitWithoutValkeyFixture fixture) : IClassFixture<SharedLimitWithoutValkeyFixture>
{
    [Fact]
    public async Task Without_valkey_each_instance_limits_a_key_with_a_bucket_of_its_own_and_still_accepts_writes()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "jobs:write");
        var there = KeyCacheSupport.ClientOf(fixture.Other, tenant.Key);
        // Shared while Valkey is up: three of the five tokens taken through the other instance.
        for (var i = 0; i < 3; i++)
        {
            (await there.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        }

        await fixture.Valkey.StopAsync();
        try
        {
            (await tenant.Client.CreateJobAsync()).Id();
            var statuses = new List<int>();
            for (var i = 0; i < 7; i++)
            {
                statuses.Add((await tenant.Client.GetJsonAsync("/api/runner-jobs")).Status);
            }

            // This instance's own bucket (five tokens, one taken by the write) limits the key: the outage removes no limit.
            Assert.Equal(Enumerable.Repeat(200, 4).Concat(Enumerable.Repeat(429, 3)), statuses);
        }
        finally
        {
            await fixture.Valkey.StartAsync();
        }
    }
}
