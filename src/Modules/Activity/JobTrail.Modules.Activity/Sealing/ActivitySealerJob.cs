using Microsoft.Extensions.Hosting;

namespace JobTrail.Modules.Activity.Sealing;

/// <summary>
/// Runs <see cref="ActivityChainSealer"/> every <see cref="ActivityOptions.SealInterval"/>, round
/// after round while rounds come back full, then measures the lag. Every instance runs it; the
/// advisory lock lets one seal at a time.
/// </summary>
internal sealed partial class ActivitySealerJob(
    ActivityChainSealer sealer,
    ActivityOptions options,
    DatabaseOptions database,
    SealerState state,
    DatabaseAvailability availability,
    TimeProvider clock,
    ILogger<ActivitySealerJob> logger) : BackgroundService
{
    private const string Source = "the activity sealer";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.SealingEnabled)
        {
            state.Disabled = "JobTrail:Activity:SealingEnabled is false.";
            return;
        }

        if (database.UsesOneRole)
        {
            state.Disabled = "Sealing needs an owner role separate from the service role (JobTrail:PostgresOwner).";
            LogOneRole();
            return;
        }

        using var timer = new PeriodicTimer(options.SealInterval, clock);
        try
        {
            do
            {
                await RunAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Host shutting down.
        }
    }

    private async Task RunAsync(CancellationToken stoppingToken)
    {
        try
        {
            SealRound round;
            do
            {
                round = await sealer.SealOnceAsync(stoppingToken);
            }
            while (round.Active && round.Sealed == options.SealBatchSize && !stoppingToken.IsCancellationRequested);

            if (round.Active)
            {
                await sealer.MeasureLagAsync(stoppingToken);
            }

            state.Recovered();
            availability.ReportReachable(Source);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException || DatabaseFailure.IsUnreachable(ex))
        {
            var now = clock.GetUtcNow().UtcDateTime;
            state.RecordError(ex.Message, now);
            if (availability.ReportFailure(ex, Source))
            {
                // Readiness says so and the outage is logged once; not an error every round.
                state.DatabaseUnreachableSince ??= now;
                LogUnreachable(options.SealInterval, ex.Message);
            }
            else
            {
                LogFailed(ex, options.SealInterval);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The activity sealer cannot reach PostgreSQL; retrying in {Interval}: {Error}")]
    private partial void LogUnreachable(TimeSpan interval, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Sealing activity into its chain failed; retrying in {Interval}")]
    private partial void LogFailed(Exception exception, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The activity chain is not sealed: the service and owner roles are the same (set JobTrail:PostgresOwner to a separate owner role).")]
    private partial void LogOneRole();
}
