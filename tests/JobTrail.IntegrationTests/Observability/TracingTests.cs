using System.Collections.Concurrent;
using System.Diagnostics;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.IntegrationTests.Streaming;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace JobTrail.IntegrationTests.Observability;

/// <summary>A host with the relay on and every finished span kept in memory.</summary>
public sealed class TracingFixture : JobTrailFixture
{
    public TracingFixture()
        : this(new ConcurrentBag<System.Diagnostics.Activity>())
    {
    }

    private TracingFixture(ConcurrentBag<System.Diagnostics.Activity> spans)
        : base(
            new Dictionary<string, string?>
            {
                ["JobTrail:Relay:Enabled"] = "true",
                ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
                ["JobTrail:Events:Stream:Heartbeat"] = "00:00:00.200",
                // Spans asked for, as OTEL_TRACES_SAMPLER does in a deployment: database and Valkey commands are then spans too.
                ["OTEL_TRACES_SAMPLER"] = "always_on",
            },
            // An exporter of its own: spans are recorded only where something exports them (no OTLP endpoint here).
            services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing
                .SetSampler(new AlwaysOnSampler())
                .AddProcessor(new SimpleActivityExportProcessor(new Collector(spans)))))
    {
        Spans = spans;
    }

    public ConcurrentBag<System.Diagnostics.Activity> Spans { get; }

    internal sealed class Collector(ConcurrentBag<System.Diagnostics.Activity> spans) : BaseExporter<System.Diagnostics.Activity>
    {
        public override ExportResult Export(in Batch<System.Diagnostics.Activity> batch)
        {
            foreach (var span in batch)
            {
                spans.Add(span);
            }

            return ExportResult.Success;
        }
    }
}

// Samplers listen process-wide: while the recording host of TracingTests is up, its AlwaysOn sampler would record
// the other host's requests too. One collection runs the two classes one after the other.
[Collection(TracingCollection.Name)]
public sealed class TracingTests(TracingFixture fixture) : IClassFixture<TracingFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_emit_its_relay_and_its_sse_write_are_one_trace()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count >= 1, Deadline, "job.created on the stream");

        var traceId = ActivityTraceId.CreateRandom();
        var caller = ActivitySpanId.CreateRandom();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/runner-jobs/{jobId}/events")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { type = "step.output", payload = new { line = "traced" } }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{caller}-01");
        Assert.Equal(201, (int)(await client.SendAsync(request)).StatusCode);
        await Eventually.TrueAsync(() => stream.Events.Count >= 2, Deadline, "the emitted event on the stream");

        var trace = await Eventually.GetAsync(
            () => Task.FromResult(fixture.Spans.Where(s => s.TraceId == traceId).ToList()),
            // The server span stops when the request ends, which may be after the event was relayed and streamed.
            spans => spans.Any(s => s.OperationName == "relay.deliver") && spans.Any(s => s.OperationName == "sse.deliver")
                && spans.Any(s => s.Kind == ActivityKind.Server),
            Deadline, "the server, relay and SSE spans in the emit's trace");

        var emit = Assert.Single(trace, s => s.OperationName == "EmitEventCommand");
        Assert.Equal("ok", emit.GetTagItem("jobtrail.outcome"));
        var server = Assert.Single(trace, s => s.Kind == ActivityKind.Server);
        Assert.Equal(caller, server.ParentSpanId);
        Assert.Equal(server.SpanId, emit.ParentSpanId);
        var relay = Assert.Single(trace, s => s.OperationName == "relay.deliver");
        Assert.Equal(emit.SpanId, relay.ParentSpanId);
        Assert.Contains(relay.Links, l => l.Context.SpanId == emit.SpanId);
        var delivery = Assert.Single(trace, s => s.OperationName == "sse.deliver");
        Assert.Equal(emit.SpanId, delivery.ParentSpanId);
    }

    [Fact]
    public async Task Valkey_commands_are_client_spans()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        // The relay writes the job's stream and the recent read goes to Valkey: both are Valkey commands.
        await Eventually.GetAsync(() => client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent"), r => r.Status == 200, Deadline, "recent events");

        // The instrumentation turns profiled commands into spans when it flushes (every few seconds).
        var commands = await Eventually.GetAsync(
            () => Task.FromResult(fixture.Spans.Where(s => s.Source.Name == "OpenTelemetry.Instrumentation.StackExchangeRedis").ToList()),
            spans => spans.Count > 0, Deadline, "a span of a Valkey command");

        Assert.All(commands, s => Assert.Equal(ActivityKind.Client, s.Kind));
    }

    [Fact]
    public async Task Database_commands_are_client_spans_of_the_request_that_ran_them()
    {
        var (traceId, _) = await TracedJob.CreateAsync(fixture, "database spans");
        var commands = await Eventually.GetAsync(
            () => Task.FromResult(fixture.Spans.Where(s => s.Source.Name == "Npgsql" && s.TraceId == traceId).ToList()),
            spans => spans.Count > 0, Deadline, "a span of a database command of the request");

        Assert.All(commands, s => Assert.Equal(ActivityKind.Client, s.Kind));
    }

    [Fact]
    public async Task An_activity_row_carries_the_requests_traceparent_beside_its_correlation_id()
    {
        var (traceId, stored) = await TracedJob.CreateAsync(fixture, "traced");
        Assert.NotNull(stored);
        Assert.All(stored!.Split(','), t => Assert.StartsWith($"00-{traceId}-", t, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refused_request_is_a_span_with_its_outcome()
    {
        var client = fixture.Client();
        (await client.EmitEventAsync(Guid.NewGuid(), new { type = "step.output" })).EnsureStatus(404);

        var span = await Eventually.GetAsync(
            () => Task.FromResult(fixture.Spans.FirstOrDefault(s => s.OperationName == "EmitEventCommand" && "refused".Equals(s.GetTagItem("jobtrail.outcome")))),
            s => s is not null, Deadline, "the refused emit's span");
        Assert.Equal("EmitEventCommand", span!.GetTagItem("jobtrail.request"));
    }
}

/// <summary>A host as deployed without OTEL_EXPORTER_OTLP_ENDPOINT: a processor is listening, but nothing asked for spans to be recorded.</summary>
public sealed class UnexportedTracingFixture : JobTrailFixture
{
    public UnexportedTracingFixture()
        : this(new ConcurrentBag<System.Diagnostics.Activity>())
    {
    }

    private UnexportedTracingFixture(ConcurrentBag<System.Diagnostics.Activity> spans)
        : base(
            new Dictionary<string, string?>(),
            services => services.ConfigureOpenTelemetryTracerProvider(tracing => tracing
                .AddProcessor(new SimpleActivityExportProcessor(new TracingFixture.Collector(spans)))))
    {
        Spans = spans;
    }

    public ConcurrentBag<System.Diagnostics.Activity> Spans { get; }
}

[Collection(TracingCollection.Name)]
public sealed class UnexportedTracingTests(UnexportedTracingFixture fixture) : IClassFixture<UnexportedTracingFixture>
{
    [Fact]
    public async Task Without_an_exporter_spans_are_not_recorded_yet_the_trace_id_still_reaches_the_activity_row()
    {
        var (traceId, stored) = await TracedJob.CreateAsync(fixture, "untraced");
        Assert.NotNull(stored);
        Assert.All(stored!.Split(','), t => Assert.StartsWith($"00-{traceId}-", t, StringComparison.Ordinal));
        // The request has been answered and its row written: any span of it would have ended and been exported by now.
        Assert.DoesNotContain(fixture.Spans, s => s.TraceId == traceId);
        Assert.Empty(fixture.Spans);
    }
}

/// <summary>Creates a job with a caller's traceparent and a correlation id of its own.</summary>
internal static class TracedJob
{
    /// <summary>The caller's trace id, and the trace_parent of every activity row the request wrote (comma-separated).</summary>
    public static async Task<(ActivityTraceId TraceId, string? Stored)> CreateAsync(JobTrailFixture fixture, string name)
    {
        var traceId = ActivityTraceId.CreateRandom();
        var correlationId = "trace-" + Guid.NewGuid().ToString("N");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/runner-jobs")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { type = "ci", name }),
        };
        request.Headers.Add("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        request.Headers.Add("X-Correlation-Id", correlationId);
        Assert.Equal(201, (int)(await fixture.Client().SendAsync(request)).StatusCode);

        var stored = await fixture.ScalarAsOwnerAsync<string>(
            $"select string_agg(coalesce(trace_parent, 'none'), ',') from activity.activity_logs where correlation_id = '{correlationId}'",
            fixture.DefaultWorkspaceId.ToString());
        return (traceId, stored);
    }
}

/// <summary>The tracing test classes, run one after the other (see <see cref="TracingTests"/>).</summary>
public static class TracingCollection
{
    public const string Name = "Tracing";
}
