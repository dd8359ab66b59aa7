using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Observability;

namespace JobTrail.Modules.JobEvents;

/// <summary>The event log's and the live streams' instruments (exported names in the comments); no per-job labels.</summary>
internal static class JobEventMetrics
{
    public const string Client = "client";
    public const string Batch = "batch";
    public const string System = "system";

    private static readonly Meter Meter = new(Telemetry.Name);

    /// <summary><c>jobtrail_events_appended_total{source=client|batch|system}</c>.</summary>
    public static readonly Counter<long> Appended =
        Meter.CreateCounter<long>("jobtrail.events.appended", description: "Events appended to job event logs, by who wrote them");

    /// <summary><c>jobtrail_sse_connections</c>.</summary>
    public static readonly UpDownCounter<long> SseConnections =
        Meter.CreateUpDownCounter<long>("jobtrail.sse.connections", description: "Open Server-Sent Events streams");

    /// <summary><c>jobtrail_sse_delivery_latency_seconds</c>: from the event's commit to its frame written.</summary>
    public static readonly Histogram<double> SseDeliveryLatency = Meter.CreateHistogram(
        "jobtrail.sse.delivery_latency", unit: "s", description: "Time from an event's recording to its SSE frame being written",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.LatencyBuckets });

    /// <summary><c>jobtrail_valkey_fallback_total{read=recent|backfill}</c>: reads PostgreSQL served because Valkey could not be used.</summary>
    public static readonly Counter<long> ValkeyFallback =
        Meter.CreateCounter<long>("jobtrail.valkey.fallback", description: "Reads served from PostgreSQL because Valkey could not be used");

    public static void CountAppended(int count, string source)
    {
        if (count > 0)
        {
            Appended.Add(count, new KeyValuePair<string, object?>("source", source));
        }
    }

    public static void CountFallback(string read) => ValkeyFallback.Add(1, new KeyValuePair<string, object?>("read", read));
}
