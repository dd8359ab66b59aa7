using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Behaviors;
using JobTrail.BuildingBlocks.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>What the relay last saw, for metrics and the readiness details.</summary>
internal sealed class RelayState : WorkerState
{
    private static readonly Meter Meter = new(PipelineMetrics.MeterName);
    private readonly Counter<long> relayed;

    public RelayState()
    {
        relayed = Meter.CreateCounter<long>("jobtrail.relay.relayed", description: "Events delivered to Valkey");
        Meter.CreateObservableGauge("jobtrail.relay.backlog", () => Backlog, description: "Events in the outbox waiting for the relay");
        Meter.CreateObservableGauge("jobtrail.relay.lag", () => OldestAge.TotalSeconds, unit: "s", description: "Age of the oldest outbox row");
        Meter.CreateObservableGauge("jobtrail.relay.parked", () => Parked, description: "Events in outbox rows parked after failing MaxAttempts times");
        Meter.CreateObservableGauge("jobtrail.relay.held", () => Held, description: "Events in outbox rows held behind a parked row of their job");
        Meter.CreateObservableGauge("jobtrail.relay.partitions", () => Partitions.Count, description: "Outbox partitions this instance relays");
    }

    private volatile bool relaysEveryPartition;

    /// <summary>The outbox partitions this instance relays now, ascending.</summary>
    public IReadOnlyList<int> Partitions { get; set; } = [];

    /// <summary>
    /// True while this instance's relay holds every outbox partition: no relay of another instance has anything
    /// of this instance's commits to claim, so the group writer sends them no NOTIFY. Cleared before the relay
    /// looks at its partitions again (it may give some up), and when it stops or loses its session.
    /// </summary>
    public bool RelaysEveryPartition
    {
        get => relaysEveryPartition;
        set => relaysEveryPartition = value;
    }

    /// <summary>Events in the outbox rows the relay may claim now or after a retry delay (parked and held rows are not counted).</summary>
    public long Backlog { get; set; }

    /// <summary>Age of the oldest row counted in <see cref="Backlog"/>.</summary>
    public TimeSpan OldestAge { get; set; }

    /// <summary>Events in parked rows, and in rows held behind a parked row of their job.</summary>
    public long Parked { get; set; }
    public long Held { get; set; }
    public long Relayed { get; private set; }

    public void CountRelayed(int count)
    {
        Relayed += count;
        relayed.Add(count);
    }

    /// <summary>The readiness details, and the Unhealthy result while the relay cannot reach PostgreSQL.</summary>
    public (Dictionary<string, object> Data, HealthCheckResult? Unreachable) Readiness() =>
        Readiness("The relay", "committed events wait in the outbox.",
            ("partitions", Partitions.Count), ("partitionIds", Partitions.ToArray()), ("backlog", Backlog),
            ("lagSeconds", Math.Round(OldestAge.TotalSeconds, 3)), ("relayed", Relayed), ("parked", Parked), ("held", Held));
}

/// <summary>
/// A seam for fault tests: runs after the batch reached Valkey and before the outbox rows are
/// deleted and committed. Not registered in production.
/// </summary>
internal interface IRelayCommitHook
{
    Task BeforeCommitAsync(IReadOnlyList<long> outboxIds, CancellationToken cancellationToken);
}
