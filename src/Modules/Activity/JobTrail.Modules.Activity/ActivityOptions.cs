using System.ComponentModel.DataAnnotations;

namespace JobTrail.Modules.Activity;

/// <summary>
/// <c>JobTrail:Activity</c>: how long activity is kept (<c>RetentionDays</c>, default 365), how many
/// months of partitions are created ahead (<c>PartitionsAhead</c>, default 3) and how often the
/// partition job runs (<c>PartitionMaintenanceInterval</c>, default one hour); how often the chain
/// sealer runs (<c>SealInterval</c>, default one second), how many rows it links per round
/// (<c>SealBatchSize</c>, default 1000), the sealing lag past which readiness reports it degraded
/// (<c>SealLagWarning</c>, default one minute), and whether it runs at all (<c>SealingEnabled</c>).
/// Bound and validated at start-up (<see cref="ActivityModule"/>); a bad value stops it, naming the variable.
/// </summary>
internal sealed class ActivityOptions
{
    public const string Section = "JobTrail:Activity";

    [Range(1, int.MaxValue, ErrorMessage = "JobTrail__Activity__RetentionDays must be at least 1.")]
    public int RetentionDays { get; set; } = 365;

    [Range(1, 24, ErrorMessage = "JobTrail__Activity__PartitionsAhead must be between 1 and 24.")]
    public int PartitionsAhead { get; set; } = 3;

    public TimeSpan PartitionMaintenanceInterval { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan SealInterval { get; set; } = TimeSpan.FromSeconds(1);

    [Range(1, 100_000, ErrorMessage = "JobTrail__Activity__SealBatchSize must be between 1 and 100000.")]
    public int SealBatchSize { get; set; } = 1000;

    public TimeSpan SealLagWarning { get; set; } = TimeSpan.FromMinutes(1);

    public bool SealingEnabled { get; set; } = true;
}
