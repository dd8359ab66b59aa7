using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>Partition DDL of the modules whose tables are partitioned by UTC month (activity, events), as the owner role.</summary>
public static class PartitionDdl
{
    // Creating or dropping a partition locks the parent table: rather than queue behind a long reader (and
    // make every insert queue behind it), give up after a while; the next run tries again.
    private const string LockTimeout = "set local lock_timeout = '5s'";

    /// <summary>The first day of the UTC month of <paramref name="now"/>, and <paramref name="now"/> in UTC.</summary>
    public static (DateTime UtcNow, DateOnly ThisMonth) MonthOf(DateTime now)
    {
        var utcNow = now.Kind == DateTimeKind.Utc ? now : DateTime.SpecifyKind(now.ToUniversalTime(), DateTimeKind.Utc);
        return (utcNow, new DateOnly(utcNow.Year, utcNow.Month, 1));
    }

    /// <summary>One statement in a short transaction of its own; answers the non-null names it returned.</summary>
    public static async Task<List<string>> RunAsync(
        NpgsqlConnection connection, string sql, IReadOnlyList<object> arguments, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var statement = new NpgsqlBatchCommand(sql);
        foreach (var argument in arguments)
        {
            statement.Parameters.Add(new NpgsqlParameter { Value = argument });
        }

        await using var batch = new NpgsqlBatch(connection, transaction) { BatchCommands = { new NpgsqlBatchCommand(LockTimeout), statement } };
        var names = new List<string>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!await reader.IsDBNullAsync(0, cancellationToken))
                {
                    names.Add(reader.GetString(0));
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return names;
    }
}

/// <summary>
/// Runs a module's partition maintenance at start-up, before the host serves requests (a host started after a
/// long pause must find its month's partition), and then every <c>interval</c>. A failure is logged and tried
/// again at the next tick.
/// </summary>
public abstract partial class PartitionMaintenanceJob(TimeSpan interval, TimeProvider clock, ILogger logger, string tables) : BackgroundService
{
    /// <summary>One run: create the months ahead, drop what retention no longer keeps.</summary>
    protected abstract Task RunOnceAsync(DateTime now, CancellationToken cancellationToken);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RunAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, clock);
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
            await RunOnceAsync(clock.GetUtcNow().UtcDateTime, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            LogFailed(ex, tables, interval);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Partition maintenance of {Tables} failed; it runs again in {Interval}")]
    private partial void LogFailed(Exception exception, string tables, TimeSpan interval);
}
