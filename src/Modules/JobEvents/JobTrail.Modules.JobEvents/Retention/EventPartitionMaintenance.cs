
namespace JobTrail.Modules.JobEvents.Retention;

/// <summary>Event partitions created and dropped by one run.</summary>
internal sealed record EventPartitionResult(IReadOnlyList<string> Created, IReadOnlyList<string> Dropped);

/// <summary>
/// Keeps <c>job_events.events</c> partitioned by the UTC month of <c>recorded_at</c>: creates this
/// month's partition and the next <see cref="EventRetentionOptions.PartitionsAhead"/>, and, when a
/// retention is set, drops whole every partition that ended at least that many days ago. As the owner
/// role (partition DDL needs it), through <c>job_events.ensure_partition</c> and
/// <c>job_events.drop_partitions_ending_by</c> (migration 0008).
/// </summary>
internal sealed partial class EventPartitionMaintenance(DatabaseOptions database, EventRetentionOptions options, ILogger<EventPartitionMaintenance> logger) : IPartitionMaintenance
{
    public string Tables => "job_events.events";

    public TimeSpan Interval => options.PartitionMaintenanceInterval;

    Task IPartitionMaintenance.RunAsync(DateTime now, CancellationToken cancellationToken) => RunOnceAsync(now, cancellationToken);

    public async Task<EventPartitionResult> RunOnceAsync(DateTime now, CancellationToken cancellationToken = default)
    {
        var (utcNow, thisMonth) = PartitionDdl.MonthOf(now);

        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        var created = new List<string>();
        for (var month = 0; month <= options.PartitionsAhead; month++)
        {
            created.AddRange(await PartitionDdl.RunAsync(connection, "select job_events.ensure_partition($1)", [thisMonth.AddMonths(month)], cancellationToken));
        }

        var dropped = options.RetentionDays is { } days
            ? await PartitionDdl.RunAsync(connection, "select job_events.drop_partitions_ending_by($1)", [utcNow.AddDays(-days)], cancellationToken)
            : [];
        foreach (var name in created)
        {
            LogCreated(name);
        }

        foreach (var name in dropped)
        {
            LogDropped(name, options.RetentionDays ?? 0);
        }

        return new EventPartitionResult(created, dropped);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Created event partition {Partition}")]
    private partial void LogCreated(string partition);

    [LoggerMessage(Level = LogLevel.Information, Message = "Dropped event partition {Partition}: older than {RetentionDays} days")]
    private partial void LogDropped(string partition, int retentionDays);
}
