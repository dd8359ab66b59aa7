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
        var statement = Sql.Statement(sql, [.. arguments]);
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

/// <summary>A module's upkeep of its month partitions: what <see cref="PartitionMaintenanceJob{T}"/> runs.</summary>
public interface IPartitionMaintenance
{
    /// <summary>The tables it keeps, for the log.</summary>
    string Tables { get; }

    /// <summary>How often it runs after start-up.</summary>
    TimeSpan Interval { get; }

    /// <summary>One run: create the months ahead, drop what retention no longer keeps.</summary>
    Task RunAsync(DateTime now, CancellationToken cancellationToken);
}

/// <summary>
/// Runs a module's partition maintenance at start-up, before the host serves requests (a host started after a
/// long pause must find its month's partition), and then every <see cref="IPartitionMaintenance.Interval"/>.
/// A failure is logged and tried again at the next tick.
/// </summary>
public sealed partial class PartitionMaintenanceJob<T>(T maintenance, TimeProvider clock, ILogger<PartitionMaintenanceJob<T>> logger) : BackgroundService
    where T : IPartitionMaintenance
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await RunAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(maintenance.Interval, clock);
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
            await maintenance.RunAsync(clock.GetUtcNow().UtcDateTime, cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            PartitionMaintenanceLog.Failed(logger, ex, maintenance.Tables, maintenance.Interval);
        }
    }
}

internal static partial class PartitionMaintenanceLog
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Partition maintenance of {Tables} failed; it runs again in {Interval}")]
    public static partial void Failed(ILogger logger, Exception exception, string tables, TimeSpan interval);
}
