using JobTrail.Client.Tests.Infrastructure;

namespace JobTrail.Client.Tests;

/// <summary>A host with a tiny per-key rate limit, so that a burst of emits meets 429 + Retry-After.</summary>
public sealed class ClientRateLimitTests(ClientRateLimitTests.RateLimitedFixture fixture) : IClassFixture<ClientRateLimitTests.RateLimitedFixture>
{
    [Fact]
    public async Task A_burst_past_the_rate_limit_is_retried_after_Retry_After_and_every_event_is_stored_once()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var job = await client.CreateJobAsync("build");

        var emitted = await Task.WhenAll(Enumerable.Range(0, 12).Select(i =>
            client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { i }))));

        Assert.Equal(12, emitted.Select(e => e.Seq).Distinct().Count());
        var stored = await JobTrailClientTests.OutputIndexesAsync(client, job.Id);
        Assert.Equal(Enumerable.Range(0, 12), stored.Order());
    }

    public sealed class RateLimitedFixture() : ClientFixture(new Dictionary<string, string?>
    {
        ["JobTrail:RateLimit:PerSecond"] = "4",
        ["JobTrail:RateLimit:Burst"] = "4",
    });
}
