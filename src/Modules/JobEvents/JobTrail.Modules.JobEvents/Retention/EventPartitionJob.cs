using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.Modules.JobEvents.Retention;

/// <summary>Runs <see cref="EventPartitionMaintenance"/> at start-up and then every <see cref="EventRetentionOptions.PartitionMaintenanceInterval"/>.</summary>
internal sealed partial class EventPartitionJob(
    EventPartitionMaintenance maintenance,
    EventRetentionOptions options,
    TimeProvider clock,
    ILogger<EventPartitionJob> logger) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Before the host serves requests: an append into a month without a partition would fail.
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

    [LoggerMessage(Level = LogLevel.Error, Message = "Event partition maintenance failed; it runs again in {Interval}")]
    private partial void LogFailed(Exception exception, TimeSpan interval);
}
