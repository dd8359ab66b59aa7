using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Behaviors;

namespace JobTrail.Modules.Activity.Sealing;

/// <summary>What the chain sealer last saw: for the metrics, readiness and tests that wait on it.</summary>
internal sealed class SealerState
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

    public bool IsActive { get; set; }

    public TimeSpan Lag { get; set; }

    public long Sealed { get; private set; }

    /// <summary>Rounds this instance ran as the active sealer.</summary>
    public long Rounds => Interlocked.Read(ref rounds);

    public DateTime? LastRoundAt { get; private set; }

    public string? LastError { get; set; }

    public DateTime? LastErrorAt { get; set; }

    /// <summary>Since when the sealer cannot reach PostgreSQL; null once a round reaches it again.</summary>
    public DateTime? DatabaseUnreachableSince { get; set; }

    /// <summary>A round reached the database: whatever failed before is over.</summary>
    public void Recovered()
    {
        LastError = null;
        LastErrorAt = null;
        DatabaseUnreachableSince = null;
    }

    public void RecordRound(int count, DateTime at)
    {
        Sealed += count;
        sealedCounter.Add(count);
        LastRoundAt = at;
        Interlocked.Increment(ref rounds);
    }
}
