using Microsoft.Extensions.Hosting;

namespace JobTrail.Modules.JobEvents.Features.StreamEvents;

/// <summary>
/// Runs the streams' periodic check (<see cref="JobEventHub.CheckAsync"/>) every
/// <see cref="EventStreamOptions.CatchUpInterval"/>: one query per workspace with open streams, not one per stream.
/// </summary>
internal sealed class StreamCheckJob(JobEventHub hub, EventStreamOptions options, ILogger<StreamCheckJob> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.CatchUpInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await hub.CheckAsync(stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A failed round must not end the checks; the next tick tries again.
                    logger.LogWarning(ex, "The streams' periodic check failed; retrying in {Interval}", options.CatchUpInterval);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }
}
