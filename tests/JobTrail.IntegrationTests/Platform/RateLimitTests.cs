using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>A bucket of five tokens refilled once an hour: however slow the machine, the sixth request is refused.</summary>
public sealed class TinyBucketFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:RateLimit:PerSecond"] = "1",
        ["JobTrail:RateLimit:Burst"] = "5",
        ["JobTrail:RateLimit:ReplenishmentPeriod"] = "01:00:00",
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

/// <summary>
/// The same tiny bucket, refilled only once an hour so that however slow the machine, a burst is limited,
/// with an hour-long recording window so a test's bursts all fall in one.
/// </summary>
public sealed class RateLimitRecordingFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:RateLimit:PerSecond"] = "1",
        ["JobTrail:RateLimit:Burst"] = "5",
        ["JobTrail:RateLimit:ReplenishmentPeriod"] = "01:00:00",
        ["JobTrail:RateLimit:RecordWindow"] = "01:00:00",
    },
    null);

public sealed class RateLimitRecordingTests(RateLimitRecordingFixture fixture) : IClassFixture<RateLimitRecordingFixture>
{
    [Fact]
    public async Task A_rejected_burst_is_recorded_once_per_key_and_window_not_once_per_request()
    {
        var a = await fixture.CreateTenantAsync("jobs:read");
        var b = await fixture.CreateTenantAsync("jobs:read");

        var first = await BurstAsync(a.Client, 12);
        var second = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => a.Client.GetJsonAsync("/api/runner-jobs")));
        (await b.Client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);

        // The bucket cannot refill during the test: exactly its five tokens pass, everything after is refused.
        Assert.Equal(Enumerable.Repeat(200, 5).Concat(Enumerable.Repeat(429, 7)), first.Select(r => r.Status));
        Assert.All(second, r => Assert.Equal(429, r.Status));
        var recorded = await RateLimitedRowsAsync(a);
        var row = Assert.Single(recorded);
        Assert.Equal(("api_key", KeyIdOf(a.Key), "DENIED"), (row.EntityType, row.EntityId, row.Outcome));
        Assert.StartsWith("runner:ws-", row.ActorId, StringComparison.Ordinal);
        Assert.Equal("rate_limited", row.Metadata.GetProperty("error").GetString());
        Assert.Equal("/api/runner-jobs", row.Metadata.GetProperty("path").GetString());
        Assert.Empty(await RateLimitedRowsAsync(b));

        await BurstAsync(b.Client, 12);
        Assert.Single(await RateLimitedRowsAsync(b));
        Assert.Single(await RateLimitedRowsAsync(a));
    }

    private static async Task<List<ApiResponse>> BurstAsync(HttpClient client, int count)
    {
        var responses = new List<ApiResponse>();
        for (var i = 0; i < count; i++)
        {
            responses.Add(await client.GetJsonAsync("/api/runner-jobs"));
        }

        return responses;
    }

    private async Task<List<(string EntityType, string? EntityId, string Outcome, string ActorId, System.Text.Json.JsonElement Metadata)>> RateLimitedRowsAsync(Tenant tenant) =>
        await fixture.QueryAsServiceAsync(
            "select entity_type, entity_id, outcome, actor_id, metadata::text from activity.activity_logs where action = 'api_key.rate_limited'",
            tenant.WorkspaceId.ToString(),
            r => (r.GetString(0), r.IsDBNull(1) ? null : r.GetString(1), r.GetString(2), r.GetString(3), System.Text.Json.JsonDocument.Parse(r.GetString(4)).RootElement.Clone()));

    /// <summary><c>jt_&lt;key id, 32 hex&gt;_&lt;secret&gt;</c>.</summary>
    private static string KeyIdOf(string key) => Guid.ParseExact(key.Split('_')[1], "N").ToString();
}
