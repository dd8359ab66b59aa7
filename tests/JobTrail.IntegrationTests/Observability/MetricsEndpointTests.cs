using System.Diagnostics.Metrics;
using System.Text.RegularExpressions;
using JobTrail.Host;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.IntegrationTests.Streaming;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace JobTrail.IntegrationTests.Observability;

/// <summary>
/// A host with its metrics listener on a free loopback port, Valkey unreachable (so reads fall back to
/// PostgreSQL and the outbox fills) and a small rate limit that the test exhausts on purpose.
/// </summary>
public sealed class MetricsFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Metrics:Url"] = "http://127.0.0.1:0",
        ["JobTrail:Valkey"] = "127.0.0.1:1,connectTimeout=200",
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
        ["JobTrail:Events:Stream:Heartbeat"] = "00:00:00.200",
        ["JobTrail:Events:Stream:OfflinePollInterval"] = "00:00:00.200",
        ["JobTrail:RateLimit:PerSecond"] = "1",
        ["JobTrail:RateLimit:Burst"] = "40",
        ["JobTrail:RateLimit:ReplenishmentPeriod"] = "01:00:00",
    },
    null)
{
    internal Uri MetricsUrl => new(
        App.Services.GetServices<IHostedService>().OfType<MetricsListener>().Single().Address
            ?? throw new InvalidOperationException("The metrics listener is not bound."),
        "metrics");
}

/// <summary>
/// The instruments are static, so every host in this test process records on them, and a host's exporter sums
/// what all hosts recorded since it started: another class's SSE stream that closes meanwhile counts -1 here.
/// This collection runs on its own, after the parallel ones.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AloneCollection
{
    public const string Name = "Metrics, alone";
}

[Collection(AloneCollection.Name)]
public sealed partial class MetricsEndpointTests(MetricsFixture fixture) : IClassFixture<MetricsFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Metrics_are_served_on_the_management_listener_only_and_every_signal_shows_after_real_traffic()
    {
        var client = fixture.Client();
        Assert.Equal(404, (await client.GetJsonAsync("/metrics")).Status);

        var jobId = (await client.CreateJobAsync()).Id();
        (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = "hello" } })).EnsureStatus(201);
        (await client.EmitBatchAsync(jobId, [new { type = "step.progress", payload = new { p = 1 } }, new { type = "step.progress", payload = new { p = 2 } }])).EnsureStatus(201);
        (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent")).EnsureStatus(200);

        using var scraper = new HttpClient();
        await using (var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream"))
        {
            await Eventually.TrueAsync(() => stream.Events.Count >= 4, Deadline, "four events on the stream");
            var open = PrometheusText.Parse(await scraper.GetStringAsync(fixture.MetricsUrl));
            Assert.Contains(open, s => s.Name == "jobtrail_sse_connections" && s.Value >= 1);
        }

        var refused = 0;
        for (var i = 0; i < 60 && refused == 0; i++)
        {
            refused = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}")).Status == 429 ? 1 : 0;
        }

        Assert.Equal(1, refused);

        // ASP.NET Core records a request's duration when the request ends, which may be after its answer
        // reached the client: scrape until the requests above are all in (a deadline, not a pause).
        var text = await Eventually.GetAsync(
            () => scraper.GetStringAsync(fixture.MetricsUrl),
            t => PrometheusText.Parse(t).Where(s => s.Name == "http_server_request_duration_seconds_count").Sum(s => s.Value) >= 5,
            Deadline, "the requests' durations on /metrics");
        var samples = PrometheusText.Parse(text);

        double Sum(string name, string? label = null, string? value = null) =>
            samples.Where(s => s.Name == name && (label is null || (s.Labels.TryGetValue(label, out var v) && v == value))).Sum(s => s.Value);

        Assert.True(Sum("jobtrail_events_appended_total", "source", "client") >= 1, "client events counted");
        Assert.True(Sum("jobtrail_events_appended_total", "source", "batch") >= 2, "batch events counted");
        Assert.True(Sum("jobtrail_events_appended_total", "source", "system") >= 1, "system events counted");
        Assert.True(Sum("jobtrail_emit_duration_seconds_count") >= 2, "emits timed");
        Assert.Contains(samples, s => s.Name == "jobtrail_emit_duration_seconds_bucket" && s.Labels.ContainsKey("le"));
        Assert.True(Sum("jobtrail_emit_duration_seconds_sum") > 0, "emit durations add up to more than nothing");
        // The gauges read state that every host in this test process registers on the one JobTrail meter:
        // another fixture's host may be the one reporting, so only presence and range are checked.
        Assert.Contains(samples, s => s.Name == "jobtrail_outbox_backlog" && s.Value >= 0);
        Assert.Contains(samples, s => s.Name == "jobtrail_outbox_lag_seconds" && s.Value >= 0 && double.IsFinite(s.Value));
        Assert.Contains(samples, s => s.Name == "jobtrail_outbox_parked" && s.Value >= 0);
        Assert.Contains(samples, s => s.Name == "jobtrail_sse_connections" && s.Value >= 0);
        Assert.True(Sum("jobtrail_sse_delivery_latency_seconds_count") >= 4, "each event frame written is timed");
        Assert.Contains(samples, s => s.Name == "jobtrail_activity_sealing_lag_seconds" && s.Value >= 0);
        Assert.True(Sum("jobtrail_rate_limited_total") >= 1, "the 429 counted");
        Assert.True(Sum("jobtrail_valkey_fallback_total", "read", "recent") >= 1, "recent events served from PostgreSQL counted");
        Assert.True(Sum("jobtrail_valkey_fallback_total", "read", "backfill") >= 1, "stream backfill from PostgreSQL counted");
        Assert.True(Sum("http_server_request_duration_seconds_count") >= 5, "ASP.NET Core requests measured");
        Assert.Contains(samples, s => s.Name.StartsWith("dotnet_", StringComparison.Ordinal));
        if (GroupCommitExists())
        {
            Assert.Contains(samples, s => s.Name == "jobtrail_group_commit_size_count");
        }

        // No identifiers or user data in labels: neither this test's ids nor anything shaped like an id.
        var secrets = new[] { jobId.ToString(), jobId.ToString("N"), fixture.DefaultWorkspaceId.ToString(), fixture.DefaultWorkspaceId.ToString("N"), fixture.BootstrapKey, "hello" };
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(secret, text, StringComparison.OrdinalIgnoreCase);
        }

        var forbiddenNames = new[] { "workspace", "workspace_id", "job", "job_id", "key", "key_id", "api_key", "actor", "user", "correlation_id", "url_path", "url_full" };
        foreach (var sample in samples.Where(s => s.Name != "target_info"))
        {
            foreach (var (name, value) in sample.Labels)
            {
                Assert.DoesNotContain(name, forbiddenNames);
                Assert.False(IdShape().IsMatch(value), $"{sample.Name} has label {name}=\"{value}\", which looks like an id");
            }
        }
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:9464")]
    [InlineData("https://127.0.0.1:9464")]
    [InlineData("http://127.0.0.1:9464/metrics")]
    [InlineData("127.0.0.1:9464")]
    public async Task A_bad_metrics_url_stops_start_up_naming_its_variable(string url)
    {
        await using var app = await JobTrailApp.WithoutDatabaseAsync(new Dictionary<string, string?> { ["JobTrail:Metrics:Url"] = url });

        var error = Assert.Throws<Microsoft.Extensions.Options.OptionsValidationException>(() => app.Server);

        Assert.Contains("JobTrail__Metrics__Url", error.Message, StringComparison.Ordinal);
    }

    private static bool GroupCommitExists()
    {
        var found = false;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, _) => found |= instrument.Name == "jobtrail.group_commit.size";
        listener.Start();
        return found;
    }

    [GeneratedRegex("[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")]
    private static partial Regex IdShape();
}
