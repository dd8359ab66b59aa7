using JobTrail.IntegrationTests.Activity;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>No proxy configured (the default): every client is its own TCP peer, loopback included.</summary>
public sealed class NoTrustedProxyFixture() : JobTrailFixture(null, TestPeerAddress.Register);

/// <summary>No proxy configured, and a bucket small enough that one address runs out quickly.</summary>
public sealed class NoTrustedProxyTinyBucketFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:RateLimit:PerSecond"] = "1",
        ["JobTrail:RateLimit:Burst"] = "5",
    },
    TestPeerAddress.Register);

/// <summary>Proxies configured as a network (CIDR), with the same small bucket.</summary>
public sealed class TrustedProxyNetworkFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:TrustedProxies:0"] = "10.1.0.0/16",
        ["JobTrail:RateLimit:PerSecond"] = "1",
        ["JobTrail:RateLimit:Burst"] = "5",
    },
    TestPeerAddress.Register);

public sealed class ForwardedHeadersWithoutProxyTests(NoTrustedProxyFixture fixture) : IClassFixture<NoTrustedProxyFixture>
{
    [Theory]
    [InlineData("198.51.100.7")]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task A_forwarded_address_from_a_client_is_not_recorded_when_no_proxy_is_trusted(string peer)
    {
        var origin = Origin.New(peer: peer, forwardedFor: "6.6.6.6");

        (await fixture.Client().SendAsync(HttpMethod.Post, "/api/activity",
            new { action = "auth.login", entityType = "user", entityId = "u-1" }, origin)).EnsureStatus(201);

        var row = Assert.Single(await fixture.ActivityRowsForAsync(fixture.DefaultWorkspaceId, origin));
        Assert.Equal(peer, row.IpAddress);
    }
}

public sealed class RateLimitWithoutProxyTests(NoTrustedProxyTinyBucketFixture fixture) : IClassFixture<NoTrustedProxyTinyBucketFixture>
{
    [Fact]
    public async Task Unauthenticated_requests_from_one_address_are_limited_whatever_they_claim_to_forward()
    {
        var client = fixture.AnonymousClient();
        var statuses = new List<int>();
        for (var i = 0; i < 12; i++)
        {
            statuses.Add(await GetAsync(client, peer: "198.51.100.20", forwardedFor: $"203.0.113.{i + 1}"));
        }

        Assert.All(statuses, s => Assert.True(s is 401 or 429, $"unexpected status {s}"));
        Assert.True(statuses.Count(s => s == 429) >= 6, $"only {statuses.Count(s => s == 429)} of 12 requests were limited: the bucket followed X-Forwarded-For");
        Assert.Equal(401, await GetAsync(client, peer: "198.51.100.21", forwardedFor: "203.0.113.1"));
    }

    internal static async Task<int> GetAsync(HttpClient client, string peer, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/runner-jobs");
        request.Headers.Add(TestPeerAddress.HeaderName, peer);
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await client.SendAsync(request);
        return (int)response.StatusCode;
    }
}

public sealed class TrustedProxyNetworkTests(TrustedProxyNetworkFixture fixture) : IClassFixture<TrustedProxyNetworkFixture>
{
    [Fact]
    public async Task A_proxy_inside_a_trusted_network_has_its_forwarded_address_recorded()
    {
        var viaProxy = Origin.New(peer: "10.1.200.3", forwardedFor: "203.0.113.77");
        var outside = Origin.New(peer: "10.2.0.1", forwardedFor: "203.0.113.78");
        var client = fixture.Client();

        foreach (var origin in new[] { viaProxy, outside })
        {
            (await client.SendAsync(HttpMethod.Post, "/api/activity",
                new { action = "auth.login", entityType = "user", entityId = "u-2" }, origin)).EnsureStatus(201);
        }

        Assert.Equal("203.0.113.77", Assert.Single(await fixture.ActivityRowsForAsync(fixture.DefaultWorkspaceId, viaProxy)).IpAddress);
        Assert.Equal("10.2.0.1", Assert.Single(await fixture.ActivityRowsForAsync(fixture.DefaultWorkspaceId, outside)).IpAddress);
    }

    [Fact]
    public async Task Behind_a_trusted_proxy_each_forwarded_client_has_its_own_bucket()
    {
        var client = fixture.AnonymousClient();
        var distinct = new List<int>();
        for (var i = 0; i < 8; i++)
        {
            distinct.Add(await RateLimitWithoutProxyTests.GetAsync(client, peer: "10.1.0.9", forwardedFor: $"198.51.100.{i + 100}"));
        }

        var same = new List<int>();
        for (var i = 0; i < 12; i++)
        {
            same.Add(await RateLimitWithoutProxyTests.GetAsync(client, peer: "10.1.0.9", forwardedFor: "198.51.100.99"));
        }

        Assert.All(distinct, s => Assert.Equal(401, s));
        Assert.True(same.Count(s => s == 429) >= 6, $"only {same.Count(s => s == 429)} of 12 requests from one forwarded client were limited");
    }
}

public sealed class TrustedProxySettingTests
{
    [Theory]
    [InlineData("not-an-address")]
    [InlineData("10.0.0.0/40")]
    public async Task A_trusted_proxy_that_is_neither_an_address_nor_a_network_stops_start_up_naming_the_setting(string value)
    {
        // Checked before the first connection: the database need not exist.
        await using var app = await JobTrailApp.WithoutDatabaseAsync(new Dictionary<string, string?>
        {
            ["JobTrail:TrustedProxies:0"] = value,
        });

        var error = Assert.Throws<InvalidOperationException>(() => app.Server);

        Assert.Contains("JobTrail__TrustedProxies__0", error.Message, StringComparison.Ordinal);
        Assert.Contains(value, error.Message, StringComparison.Ordinal);
    }
}
