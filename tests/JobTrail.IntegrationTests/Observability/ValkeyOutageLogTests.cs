using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.IntegrationTests.Streaming;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using CapturedLog = JobTrail.IntegrationTests.Infrastructure.CapturedLog;
using CapturedLogs = JobTrail.IntegrationTests.Infrastructure.CapturedLogs;

namespace JobTrail.IntegrationTests.Observability;

/// <summary>A host on a private Valkey the test stops and starts, with the relay retrying fast and its logs captured.</summary>
public sealed class ValkeyOutageFixture : PrivateValkeyFixture
{
    public ValkeyOutageFixture()
        : this(new ValkeyServer(), new CapturedLogs())
    {
    }

    private ValkeyOutageFixture(ValkeyServer server, CapturedLogs logs)
        : base(
            server,
            new Dictionary<string, string?>
            {
                ["JobTrail:Relay:Enabled"] = "true",
                ["JobTrail:Relay:PollInterval"] = "00:00:00.100",
                ["JobTrail:Relay:MinBackoff"] = "00:00:00.050",
                ["JobTrail:Relay:MaxBackoff"] = "00:00:00.100",
            },
            services =>
            {
                services.AddSingleton<ILoggerProvider>(logs);
                // The outage's end is an information line.
                services.Configure<LoggerFilterOptions>(o => o.AddFilter<CapturedLogs>(typeof(ValkeyClient).FullName, LogLevel.Information));
            })
    {
        Logs = logs;
    }

    public CapturedLogs Logs { get; }
}

public sealed class ValkeyOutageLogTests(ValkeyOutageFixture fixture) : IClassFixture<ValkeyOutageFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_valkey_outage_is_logged_once_when_it_starts_and_once_when_it_ends()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var relay = fixture.App.Services.GetRequiredService<RelayState>();
        await Eventually.TrueAsync(() => relay.Backlog == 0 && relay.Relayed >= 1, Deadline, "the relay delivering while Valkey is up");
        var mark = fixture.Logs.Mark;

        await fixture.Valkey.StopAsync();
        (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { i = 1 } })).EnsureStatus(201);
        // Many relay retries, recent-event reads and stream opens during the outage.
        var failures = new HashSet<DateTime>();
        await Eventually.TrueAsync(
            () =>
            {
                if (relay.LastErrorAt is { } at)
                {
                    failures.Add(at);
                }

                return failures.Count >= 5;
            },
            Deadline,
            "five failed relay attempts");
        for (var i = 0; i < 3; i++)
        {
            (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent")).EnsureStatus(200);
            await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
            await Eventually.TrueAsync(() => stream.Events.Count >= 2, Deadline, "the stream's backfill from PostgreSQL");
        }

        await fixture.Valkey.StartAsync();
        await Eventually.TrueAsync(() => relay.Backlog == 0 && relay.LastError is null, Deadline, "the relay caught up after the outage");
        await Eventually.TrueAsync(
            () => fixture.Logs.Since(mark).Any(l => l.Category == typeof(ValkeyClient).FullName && l.Level == LogLevel.Information),
            Deadline, "the outage's end logged");

        var logged = fixture.Logs.Since(mark).Where(l => l.Level >= LogLevel.Information && l.Message.Contains("Valkey", StringComparison.Ordinal)).ToList();
        var warnings = logged.Where(l => l.Level >= LogLevel.Warning).ToList();
        Assert.True(warnings.Count(l => l.Category == typeof(ValkeyClient).FullName) == 1, Describe(logged));
        Assert.True(warnings.Count(l => l.Category != typeof(ValkeyClient).FullName) <= 1, Describe(logged));
        Assert.Single(logged, l => l.Category == typeof(ValkeyClient).FullName && l.Level == LogLevel.Information);
    }

    private static string Describe(IEnumerable<CapturedLog> logs) =>
        "Logged: " + string.Join(" | ", logs.Select(l => $"{l.Level} {l.Category}: {l.Message}"));
}
