
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
internal sealed partial class ActivityPartitionMaintenance(DatabaseOptions database, ActivityOptions options, ILogger<ActivityPartitionMaintenance> logger) : IPartitionMaintenance
{
    public string Tables => "activity.activity_logs and activity.chain";

    public TimeSpan Interval => options.PartitionMaintenanceInterval;

    Task IPartitionMaintenance.RunAsync(DateTime now, CancellationToken cancellationToken) => RunOnceAsync(now, cancellationToken);

    private const string EnsurePartition = "select activity.ensure_partition($1, $2)";
    private const string DropPartitionsEndingBy = "select activity.drop_partitions_ending_by($1, $2)";
    private const string Rows = "activity_logs";
    private const string Chain = "chain";

    public async Task<PartitionMaintenanceResult> RunOnceAsync(DateTime now, CancellationToken cancellationToken = default)
    {
        var (utcNow, thisMonth) = PartitionDdl.MonthOf(now);
        var cutoff = utcNow.AddDays(-options.RetentionDays);

        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);

        var created = new List<string>();
        var chainCreated = new List<string>();
        for (var month = 0; month <= options.PartitionsAhead; month++)
        {
            created.AddRange(await PartitionDdl.RunAsync(connection, EnsurePartition, [Rows, thisMonth.AddMonths(month)], cancellationToken));
            chainCreated.AddRange(await PartitionDdl.RunAsync(connection, EnsurePartition, [Chain, thisMonth.AddMonths(month)], cancellationToken));
        }

        // Links go with the same cutoff as rows. A link is sealed after its row occurred, so a kept row
        // always keeps its link; a kept link whose row was dropped still verifies on its own.
        var dropped = await PartitionDdl.RunAsync(connection, DropPartitionsEndingBy, [Rows, cutoff], cancellationToken);
        var chainDropped = await PartitionDdl.RunAsync(connection, DropPartitionsEndingBy, [Chain, cutoff], cancellationToken);
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Created activity partition {Partition}")]
    private partial void LogCreated(string partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped activity partition {Partition}: older than {RetentionDays} days")]
    private partial void LogDropped(string partition, int retentionDays);
}
