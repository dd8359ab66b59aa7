using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace JobTrail.BuildingBlocks.Observability;

/// <summary>
/// The service's own spans and instruments: one <see cref="ActivitySource"/> and meters named
/// <see cref="Name"/>, which the host exports. Instrument names become Prometheus names
/// (<c>jobtrail.outbox.lag</c> with unit <c>s</c> is <c>jobtrail_outbox_lag_seconds</c>); labels never
/// carry a workspace, key, job id or user data.
/// </summary>
public static class Telemetry
{
    public const string Name = "JobTrail";

    public static readonly ActivitySource Source = new(Name);

    /// <summary>Bucket bounds (seconds) for latencies from a millisecond to a minute.</summary>
    public static readonly IReadOnlyList<double> LatencyBuckets =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    /// <summary>The W3C traceparent of the current span, or null outside one.</summary>
    public static string? CurrentTraceParent() =>
        Activity.Current is { IdFormat: ActivityIdFormat.W3C } current ? current.Id : null;

    /// <summary>The span context of a stored traceparent; default when there is none or it is malformed.</summary>
    public static ActivityContext ParseTraceParent(string? traceParent) =>
        traceParent is not null && ActivityContext.TryParse(traceParent, null, isRemote: true, out var context) ? context : default;
}
