
namespace JobTrail.Modules.JobEvents.Retention;

/// <summary>Runs <see cref="EventPartitionMaintenance"/> at start-up and then every <see cref="EventRetentionOptions.PartitionMaintenanceInterval"/>.</summary>
internal sealed class EventPartitionJob(
    EventPartitionMaintenance maintenance,
    EventRetentionOptions options,
    TimeProvider clock,
    ILogger<EventPartitionJob> logger) : PartitionMaintenanceJob(options.PartitionMaintenanceInterval, clock, logger, "job_events.events")
{
    protected override Task RunOnceAsync(DateTime now, CancellationToken cancellationToken) => maintenance.RunOnceAsync(now, cancellationToken);
}
