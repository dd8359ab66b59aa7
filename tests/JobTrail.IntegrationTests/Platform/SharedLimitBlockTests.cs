using System.Globalization;
using System.Text.RegularExpressions;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Access;
using JobTrail.IntegrationTests.Infrastructure;
using StackExchange.Redis;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// Two instances on a Valkey of the test's own (so its script calls can be counted); a bucket of 100 tokens refilled
/// once an hour, so nothing refills during a test, taken in blocks of 10.
/// </summary>
public sealed class SharedLimitBlockFixture : TwoInstancesOnPrivateValkeyFixture
{
    public const int Burst = 100;

    public SharedLimitBlockFixture()
        : base(new ValkeyServer(), new Dictionary<string, string?>
        {
            ["JobTrail:RateLimit:PerSecond"] = Burst.ToString(CultureInfo.InvariantCulture),
            ["JobTrail:RateLimit:Burst"] = Burst.ToString(CultureInfo.InvariantCulture),
            ["JobTrail:RateLimit:ReplenishmentPeriod"] = "01:00:00",
        })
    {
    }

    /// <summary>Tokens one instance takes per round trip with these settings (ADR 0035: a tenth of the smaller limit).</summary>
    public static int Block => Burst / 10;

    /// <summary>Script calls (EVAL and EVALSHA) the private Valkey has served so far, from its own statistics.</summary>
    public async Task<long> ScriptCallsAsync()
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(Valkey.Configuration + ",allowAdmin=true");
        var info = (string)(await connection.GetDatabase().ExecuteAsync("INFO", "commandstats"))!;
        return Regex.Matches(info, @"^cmdstat_(?:eval|evalsha):calls=(\d+)", RegexOptions.Multiline)
            .Sum(m => long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
    }

    /// <summary>A key's shared bucket as Valkey holds it: whole tokens left, the last take and the server's clock (ms).</summary>
    public async Task<(int Tokens, long TakenAtMs, long NowMs)> BucketAsync(Guid keyId)
    {
        await using var connection = await ConnectionMultiplexer.ConnectAsync(Valkey.Configuration);
        var db = connection.GetDatabase();
        var state = await db.HashGetAsync(SharedKeys.RateLimit(keyId), ["t", "at"]);
        var clock = (RedisResult[])(await db.ExecuteAsync("TIME"))!;
        var now = (long.Parse((string)clock[0]!, CultureInfo.InvariantCulture) * 1000) + (long.Parse((string)clock[1]!, CultureInfo.InvariantCulture) / 1000);
        return ((int)Math.Floor(double.Parse((string)state[0]!, CultureInfo.InvariantCulture)), long.Parse((string)state[1]!, CultureInfo.InvariantCulture), now);
    }
}

public sealed class SharedLimitBlockTests(SharedLimitBlockFixture fixture) : IClassFixture<SharedLimitBlockFixture>
{
    [Fact]
    public async Task A_keys_requests_take_shared_tokens_in_blocks_not_one_valkey_call_per_request()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read");
        const int requests = 90;

        var before = await fixture.ScriptCallsAsync();
        for (var i = 0; i < requests; i++)
        {
            (await tenant.Client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        }

        var calls = await fixture.ScriptCallsAsync() - before;
        // Blocks of 10: about 9 calls, a few more if blocks expire on a slow machine; one call per request would be 90.
        Assert.InRange(calls, 1, requests / 3);
    }

    [Fact]
    public async Task An_expired_blocks_unused_tokens_go_back_to_the_shared_bucket_with_the_next_refill()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read");
        var keyId = KeyCacheSupport.KeyId(tenant.Key);

        (await tenant.Client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        var first = await fixture.BucketAsync(keyId);
        // One request took a block of 10: one used, nine held by this instance.
        Assert.Equal(SharedLimitBlockFixture.Burst - SharedLimitBlockFixture.Block, first.Tokens);

        // Blocks live one second (ADR 0035); wait on Valkey's own clock until this one has certainly expired.
        await Eventually.GetAsync(() => fixture.BucketAsync(keyId), b => b.NowMs - b.TakenAtMs >= 1500, TimeSpan.FromSeconds(30), "the block to expire");
        (await tenant.Client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);

        // The nine unused tokens went back and a new block of 10 was taken (one used): 100 - 2 used - 9 held, not 80.
        var second = await fixture.BucketAsync(keyId);
        Assert.Equal(SharedLimitBlockFixture.Burst - 2 - (SharedLimitBlockFixture.Block - 1), second.Tokens);
    }

    [Fact]
    public async Task Two_instances_taking_blocks_concurrently_together_admit_no_more_than_the_shared_bucket()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read");
        var here = tenant.Client;
        var there = KeyCacheSupport.ClientOf(fixture.Other, tenant.Key);
        const int requests = 150;

        var before = await fixture.ScriptCallsAsync();
        var answers = await Task.WhenAll(Enumerable.Range(0, requests).Select(i => (i % 2 == 0 ? here : there).GetJsonAsync("/api/runner-jobs")));
        var calls = await fixture.ScriptCallsAsync() - before;

        // Never more than the bucket's tokens; fewer only by the tokens each instance may still hold in its block (ADR 0035).
        var admitted = answers.Count(a => a.Status == 200);
        Assert.InRange(admitted, SharedLimitBlockFixture.Burst - (2 * SharedLimitBlockFixture.Block), SharedLimitBlockFixture.Burst);
        Assert.All(answers.Where(a => a.Status != 200), a =>
        {
            a.EnsureProblem(429, "rate_limited");
            Assert.True(int.Parse(a.Message.Headers.GetValues("Retry-After").Single(), CultureInfo.InvariantCulture) >= 1);
        });
        // Concurrent requests on one instance wait for its one refill in flight instead of each calling Valkey.
        Assert.InRange(calls, 1, requests / 3);

        // Once the bucket is spent (a block holds at most 10), further requests on either instance are refused.
        for (var i = 0; i < SharedLimitBlockFixture.Block; i++)
        {
            await here.GetJsonAsync("/api/runner-jobs");
            await there.GetJsonAsync("/api/runner-jobs");
        }

        (await here.GetJsonAsync("/api/runner-jobs")).EnsureProblem(429, "rate_limited");
        (await there.GetJsonAsync("/api/runner-jobs")).EnsureProblem(429, "rate_limited");
    }
}
