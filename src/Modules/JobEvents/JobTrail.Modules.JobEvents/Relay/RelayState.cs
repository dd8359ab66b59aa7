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
        Meter.CreateObservableGauge("jobtrail.relay.parked", () => Parked, description: "Outbox rows parked after failing MaxAttempts times");
        Meter.CreateObservableGauge("jobtrail.relay.held", () => Held, description: "Outbox rows held behind a parked row of their job");
        Meter.CreateObservableGauge("jobtrail.relay.partitions", () => Partitions.Count, description: "Outbox partitions this instance relays");
    }

    /// <summary>Whether this instance relays at least one partition of the outbox.</summary>
    public bool IsActive { get; set; }

    /// <summary>The outbox partitions this instance relays now, ascending.</summary>
    public IReadOnlyList<int> Partitions { get; set; } = [];

    /// <summary>Rows the relay may claim now or after a retry delay (parked and held rows are not counted).</summary>
    public long Backlog { get; set; }

    /// <summary>Age of the oldest row counted in <see cref="Backlog"/>.</summary>
    public TimeSpan OldestAge { get; set; }

    public long Parked { get; set; }
    public long Held { get; set; }
    public long Relayed { get; private set; }
    public string? LastError { get; private set; }
    public DateTime? LastErrorAt { get; private set; }

    /// <summary>Since when the relay cannot reach PostgreSQL; null once it has connected again.</summary>
    public DateTime? DatabaseUnreachableSince { get; set; }

    public void CountRelayed(int count)
    {
        Relayed += count;
        relayed.Add(count);
    }

    public void RecordError(string error)
    {
        LastError = error;
        LastErrorAt = DateTime.UtcNow;
    }

    /// <summary>A batch went through without any error: what went wrong before is over.</summary>
    public void ClearError()
    {
        LastError = null;
        LastErrorAt = null;
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
