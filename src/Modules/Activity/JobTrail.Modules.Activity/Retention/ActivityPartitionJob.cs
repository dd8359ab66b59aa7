
namespace JobTrail.Modules.Activity.Retention;

/// <summary>Runs <see cref="ActivityPartitionMaintenance"/> at start-up and then every <see cref="ActivityOptions.PartitionMaintenanceInterval"/>.</summary>
internal sealed class ActivityPartitionJob(
    ActivityPartitionMaintenance maintenance,
    ActivityOptions options,
    TimeProvider clock,
    ILogger<ActivityPartitionJob> logger) : PartitionMaintenanceJob(options.PartitionMaintenanceInterval, clock, logger, "activity.activity_logs and activity.chain")
{
    protected override Task RunOnceAsync(DateTime now, CancellationToken cancellationToken) => maintenance.RunOnceAsync(now, cancellationToken);
}
