using JobTrail.BuildingBlocks.Persistence;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.Modules.Activity.Retention;

/// <summary>Activity partitions created and dropped; the chain's partitions (links, by month of sealing) alongside.</summary>
internal sealed record PartitionMaintenanceResult(IReadOnlyList<string> Created, IReadOnlyList<string> Dropped)
{
    public IReadOnlyList<string> ChainCreated { get; init; } = [];

    public IReadOnlyList<string> ChainDropped { get; init; } = [];
}

/// <summary>
/// Keeps <c>activity.activity_logs</c> partitioned by UTC month: creates this month's partition and
/// the next <see cref="ActivityOptions.PartitionsAhead"/>, and drops, whole, every partition that
/// ended at least <see cref="ActivityOptions.RetentionDays"/> ago. Partition DDL needs the owner
/// role; the SQL lives in the module's migration: one <c>activity.ensure_partition(table, month)</c> and
/// one <c>activity.drop_partitions_ending_by(table, cutoff)</c> serve both partitioned tables.
/// </summary>
internal sealed partial class ActivityPartitionMaintenance(DatabaseOptions database, ActivityOptions options, ILogger<ActivityPartitionMaintenance> logger)
{
    // Creating or dropping a partition locks the parent table; rather than queue behind a long
    // reader (and make every insert queue behind us), give up and try again on the next run.
    private const string LockTimeout = "set local lock_timeout = '5s'";
    private const string EnsurePartition = "select activity.ensure_partition($1, $2)";
    private const string DropPartitionsEndingBy = "select activity.drop_partitions_ending_by($1, $2)";
    private const string Rows = "activity_logs";
    private const string Chain = "chain";

    public async Task<PartitionMaintenanceResult> RunOnceAsync(DateTime now, CancellationToken cancellationToken = default)
    {
        var utcNow = now.Kind == DateTimeKind.Utc ? now : DateTime.SpecifyKind(now.ToUniversalTime(), DateTimeKind.Utc);
        var thisMonth = new DateOnly(utcNow.Year, utcNow.Month, 1);
        var cutoff = utcNow.AddDays(-options.RetentionDays);

        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);

        var created = new List<string>();
        var chainCreated = new List<string>();
        for (var month = 0; month <= options.PartitionsAhead; month++)
        {
            created.AddRange(await RunAsync(connection, EnsurePartition, Rows, thisMonth.AddMonths(month), cancellationToken));
            chainCreated.AddRange(await RunAsync(connection, EnsurePartition, Chain, thisMonth.AddMonths(month), cancellationToken));
        }

        // Links go with the same cutoff as rows. A link is sealed after its row occurred, so a kept row
        // always keeps its link; a kept link whose row was dropped still verifies on its own.
        var dropped = await RunAsync(connection, DropPartitionsEndingBy, Rows, cutoff, cancellationToken);
        var chainDropped = await RunAsync(connection, DropPartitionsEndingBy, Chain, cutoff, cancellationToken);
        foreach (var name in created.Concat(chainCreated))
        {
            LogCreated(name);
        }

        foreach (var name in dropped.Concat(chainDropped))
        {
            LogDropped(name, options.RetentionDays);
        }

        return new PartitionMaintenanceResult(created, dropped) { ChainCreated = chainCreated, ChainDropped = chainDropped };
    }

    /// <summary>One statement in a short transaction of its own; answers the non-null names it returned.</summary>
    private static async Task<List<string>> RunAsync(NpgsqlConnection connection, string sql, string table, object argument, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand(LockTimeout),
                new NpgsqlBatchCommand(sql) { Parameters = { new NpgsqlParameter { Value = table }, new NpgsqlParameter { Value = argument } } },
            },
        };
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Created activity partition {Partition}")]
    private partial void LogCreated(string partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped activity partition {Partition}: older than {RetentionDays} days")]
    private partial void LogDropped(string partition, int retentionDays);
}
