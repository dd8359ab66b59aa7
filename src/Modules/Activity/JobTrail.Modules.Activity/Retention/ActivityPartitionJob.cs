using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.Modules.Activity.Retention;

/// <summary>Runs <see cref="ActivityPartitionMaintenance"/> at start-up and then every <see cref="ActivityOptions.PartitionMaintenanceInterval"/>.</summary>
internal sealed partial class ActivityPartitionJob(
    ActivityPartitionMaintenance maintenance,
    ActivityOptions options,
    TimeProvider clock,
    ILogger<ActivityPartitionJob> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the host serves requests, so that a host started after a long pause finds its month's partition.
        await RunAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.PartitionMaintenanceInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RunAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutting down.
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await maintenance.RunOnceAsync(clock.GetUtcNow().UtcDateTime, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            LogFailed(ex, options.PartitionMaintenanceInterval);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Activity partition maintenance failed; it runs again in {Interval}")]
    private partial void LogFailed(Exception exception, TimeSpan interval);
}
