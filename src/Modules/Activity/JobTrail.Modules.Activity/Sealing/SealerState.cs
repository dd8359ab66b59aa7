using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Behaviors;
using JobTrail.BuildingBlocks.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobTrail.Modules.Activity.Sealing;

/// <summary>What the chain sealer last saw: for the metrics, readiness and tests that wait on it.</summary>
internal sealed class SealerState : WorkerState
{
    private static readonly Meter Meter = new(PipelineMetrics.MeterName);
    private readonly Counter<long> sealedCounter;
    private long rounds;

    public SealerState()
    {
        sealedCounter = Meter.CreateCounter<long>("jobtrail.activity.sealed", description: "Activity rows linked into their workspace's chain");
        Meter.CreateObservableGauge("jobtrail.activity.sealing_lag", () => Lag.TotalSeconds, unit: "s",
            description: "How long the oldest committed activity row has waited for its link");
    }

    /// <summary>Why the sealer does not run, when it does not.</summary>
    public string? Disabled { get; set; }

    public TimeSpan Lag { get; set; }

    public long Sealed { get; private set; }

    /// <summary>Rounds this instance ran as the active sealer.</summary>
    public long Rounds => Interlocked.Read(ref rounds);

    public DateTime? LastRoundAt { get; private set; }

    /// <summary>A round reached the database: whatever failed before is over.</summary>
    public void Recovered()
    {
        ClearError();
        DatabaseUnreachableSince = null;
    }

    /// <summary>The readiness details, and the Unhealthy result while the sealer cannot reach PostgreSQL.</summary>
    public (Dictionary<string, object> Data, HealthCheckResult? Unreachable) Readiness() =>
        Readiness("The activity sealer", "new activity waits for its links.",
            ("lagSeconds", Math.Round(Lag.TotalSeconds, 3)), ("sealed", Sealed), ("lastRoundAt", LastRoundAt));

    public void RecordRound(int count, DateTime at)
    {
        Sealed += count;
        sealedCounter.Add(count);
        LastRoundAt = at;
        Interlocked.Increment(ref rounds);
    }
}
