using JobTrail.BuildingBlocks.Observability;
using JobTrail.BuildingBlocks.Valkey;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace JobTrail.Host;

/// <summary>
/// OpenTelemetry for the service: traces and metrics of ASP.NET Core, HttpClient, the runtime, Npgsql
/// and JobTrail itself; Prometheus on the management listener (<see cref="MetricsListener"/>); OTLP when
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set (every other <c>OTEL_*</c> variable is the SDK's own).
/// </summary>
internal static class Observability
{
    /// <summary>Instruments whose exported names differ from their names in code (names are a contract).</summary>
    private static readonly (string Instrument, string Exported)[] Renames =
    [
        ("jobtrail.relay.backlog", "jobtrail.outbox.backlog"),
        ("jobtrail.relay.lag", "jobtrail.outbox.lag"),
        ("jobtrail.relay.parked", "jobtrail.outbox.parked"),
        ("jobtrail.relay.held", "jobtrail.outbox.held"),
        ("jobtrail.group_commit.size", "jobtrail.group_commit.size"),
    ];

    public static WebApplicationBuilder AddJobTrailObservability(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.AddOptions<MetricsOptions>()
            .BindConfiguration(MetricsOptions.Section)
            .Validate(o => o.Listener is not null || string.IsNullOrWhiteSpace(o.Url),
                "JobTrail__Metrics__Url must be an absolute http:// URL with a host and port (e.g. http://127.0.0.1:9464), or empty to turn the metrics listener off.")
            .ValidateOnStart();
        builder.Services.AddHostedService<MetricsListener>();

        var otlp = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        // With nowhere to send spans, recording them is pure cost on every request and command: spans are then
        // created for propagation only (trace ids still reach logs, problem details and activity rows), never
        // recorded. OTEL_TRACES_SAMPLER, when set, is the SDK's to honour as usual.
        var recordSpans = otlp || !string.IsNullOrWhiteSpace(configuration["OTEL_TRACES_SAMPLER"]);
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(
                serviceName: configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "jobtrail",
                serviceVersion: typeof(Observability).Assembly.GetName().Version?.ToString()))
            .WithTracing(tracing =>
            {
                if (!recordSpans)
                {
                    tracing.SetSampler(new AlwaysOffSampler());
                }

                tracing
                    .AddSource(Telemetry.Name)
                    .AddAspNetCoreInstrumentation(o => o.Filter = http => !http.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
                    .AddHttpClientInstrumentation();
                if (recordSpans)
                {
                    // Database and Valkey commands are spans only when spans are recorded: nothing propagates from
                    // them, and unrecorded they still cost every command a span with its full SQL text (Npgsql) or a
                    // profiling entry drained on a thread of its own (Valkey).
                    tracing
                        .AddSource("Npgsql")
                        // Valkey commands as client spans, on the multiplexer the service already holds.
                        .AddRedisInstrumentation()
                        .ConfigureRedisInstrumentation((services, redis) =>
                        {
                            if (services.GetRequiredService<IValkeyClient>() is ValkeyClient valkey)
                            {
                                redis.AddConnection(valkey.Connection);
                            }
                        });
                }
            })
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(Telemetry.Name, Telemetry.Name + ".*", "Npgsql")
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    // Every scrape reads current values: Prometheus scrapes seconds apart, so a cached answer saves
                    // nothing and would hide what changed just before (a 429, an event).
                    .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0);
                foreach (var (instrument, exported) in Renames)
                {
                    metrics.AddView(instrument, exported);
                }
            });
        if (otlp)
        {
            otel.UseOtlpExporter();
        }

        return builder;
    }
}

/// <summary><c>JobTrail:Metrics</c>: where <c>/metrics</c> is served; empty turns it off. Bound and validated at start-up.</summary>
internal sealed class MetricsOptions
{
    public const string Section = "JobTrail:Metrics";

    public string? Url { get; set; } = "http://127.0.0.1:9464";

    /// <summary>The parsed <see cref="Url"/>; null when empty or not an absolute http URL with a port.</summary>
    public Uri? Listener =>
        Uri.TryCreate(Url?.Trim(), UriKind.Absolute, out var uri) && uri.Scheme == Uri.UriSchemeHttp && !string.IsNullOrEmpty(uri.Host)
            && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query)
            ? uri
            : null;
}

/// <summary>
/// A second, private Kestrel server that serves only <c>GET /metrics</c> (Prometheus text) from the
/// service's meter provider, so that metrics never share the public port.
/// </summary>
internal sealed class MetricsListener(IOptions<MetricsOptions> options, IServiceProvider services, ILogger<MetricsListener> logger)
    : IHostedService, IAsyncDisposable
{
    private WebApplication? server;

    /// <summary>Where the listener is bound once started (the real port when the URL said 0).</summary>
    public Uri? Address { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Value.Listener is not { } url)
        {
            return;
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url.GetLeftPart(UriPartial.Authority));
        builder.WebHost.ConfigureKestrel(o => o.AddServerHeader = false);
        server = builder.Build();
        server.UseOpenTelemetryPrometheusScrapingEndpoint(
            meterProvider: services.GetRequiredService<MeterProvider>(), predicate: null, path: "/metrics", configureBranchedPipeline: null, optionsName: null);
        await server.StartAsync(cancellationToken);
        var bound = server.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        Address = bound is null ? url : new Uri(bound);
        logger.LogInformation("Prometheus metrics are served at {MetricsUrl}metrics", Address);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (server is not null)
        {
            await server.StopAsync(cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }
}
