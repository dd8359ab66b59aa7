using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

public sealed class TinyBucketFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:RateLimit:PerSecond"] = "1",
        ["JobTrail:RateLimit:Burst"] = "5",
    },
    null);

public sealed class RateLimitTests(TinyBucketFixture fixture) : IClassFixture<TinyBucketFixture>
{
    [Fact]
    public async Task A_burst_beyond_the_bucket_gets_429_with_retry_after_and_another_key_is_unaffected()
    {
        var a = await fixture.CreateTenantAsync("jobs:read");
        var b = await fixture.CreateTenantAsync("jobs:read");

        var statuses = new List<ApiResponse>();
        for (var i = 0; i < 8; i++)
        {
            statuses.Add(await a.Client.GetJsonAsync("/api/runner-jobs"));
        }

        Assert.All(statuses.Take(5), r => r.EnsureStatus(200));
        var limited = statuses.Skip(5).FirstOrDefault(r => r.Status == 429);
        Assert.NotNull(limited);
        limited.EnsureProblem(429, "rate_limited");
        Assert.True(int.Parse(limited.Message.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        (await b.Client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
    }
}
