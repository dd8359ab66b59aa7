using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Behaviors;

namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>What the relay last saw, for metrics and the readiness details.</summary>
internal sealed class RelayState
{
    private static readonly Meter Meter = new(PipelineMetrics.MeterName);
    private readonly Counter<long> relayed;

    public RelayState()
    {
        relayed = Meter.CreateCounter<long>("jobtrail.relay.relayed", description: "Events delivered to Valkey");
        Meter.CreateObservableGauge("jobtrail.relay.backlog", () => Backlog, description: "Outbox rows waiting for the relay");
        Meter.CreateObservableGauge("jobtrail.relay.lag", () => OldestAge.TotalSeconds, unit: "s", description: "Age of the oldest outbox row");
    }

    public bool IsActive { get; set; }
    public long Backlog { get; set; }
    public TimeSpan OldestAge { get; set; }
    public long Relayed { get; private set; }
    public string? LastError { get; set; }
    public DateTime? LastErrorAt { get; set; }

    /// <summary>Since when the relay cannot reach PostgreSQL; null once it has connected again.</summary>
    public DateTime? DatabaseUnreachableSince { get; set; }

    public void CountRelayed(int count)
    {
        Relayed += count;
        relayed.Add(count);
    }
}

/// <summary>
/// A seam for fault tests: runs after the batch reached Valkey and before the outbox rows are
/// deleted and committed. Not registered in production.
/// </summary>
internal interface IRelayCommitHook
{
    Task BeforeCommitAsync(IReadOnlyList<long> outboxIds, CancellationToken cancellationToken);
}
