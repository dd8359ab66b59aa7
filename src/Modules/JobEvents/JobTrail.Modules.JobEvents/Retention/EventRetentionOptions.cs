namespace JobTrail.Modules.JobEvents.Retention;

/// <summary>
/// <c>JobTrail:Events</c>: how long events are kept (<c>RetentionDays</c>; unset keeps them for ever),
/// how many months of partitions exist ahead (<c>PartitionsAhead</c>, default 3) and how often the
/// partition job runs (<c>PartitionMaintenanceInterval</c>, default one hour).
/// </summary>
internal sealed class EventRetentionOptions
{
    public const string Section = "JobTrail:Events";

    public int? RetentionDays { get; set; }

    public int PartitionsAhead { get; set; } = 3;

    public TimeSpan PartitionMaintenanceInterval { get; set; } = TimeSpan.FromHours(1);
}
