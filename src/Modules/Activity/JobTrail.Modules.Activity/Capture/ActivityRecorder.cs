using System.Net;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.BuildingBlocks.Observability;
using JobTrail.Modules.Activity.Domain;
using JobTrail.Modules.Activity.Persistence;
using NpgsqlTypes;

namespace JobTrail.Modules.Activity.Capture;

/// <summary>
/// Writes activity rows. Who and from where come from the request context; the workspace is the
/// one the command's transaction runs as (for a refusal, the caller's own).
/// </summary>
internal sealed partial class ActivityRecorder(
    IServiceProvider services,
    DbSession session,
    JoinedWrites joined,
    RequestContext context,
    NpgsqlDataSource dataSource,
    TimeProvider clock,
    ILogger<ActivityRecorder> logger) : IActivityCapture
{
    internal const string InsertSql = """
        insert into activity.activity_logs
            (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent, correlation_id, occurred_at)
        values (@id, @workspace_id, @actor_id, @action, @entity_type, @entity_id, @outcome, @metadata, @ip_address, @user_agent, @correlation_id, @occurred_at)
        """;

    // The captured columns plus the request's traceparent (telemetry, outside the chain digest).
    private const string InsertTracedSql = """
        insert into activity.activity_logs
            (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent, correlation_id, occurred_at, trace_parent)
        values (@id, @workspace_id, @actor_id, @action, @entity_type, @entity_id, @outcome, @metadata, @ip_address, @user_agent, @correlation_id, @occurred_at, @trace_parent)
        """;

    /// <summary>The row rides in the batch of the command's COMMIT: same transaction, no round trip of its own.</summary>
    public Task RecordInTransactionAsync(CapturedActivity activity, CancellationToken cancellationToken)
    {
        var entry = Describe(session.WorkspaceId, activity.Action, activity.EntityType, activity.EntityId, activity.Outcome,
            ActivityMetadata.FromCaptured(activity.Metadata));
        session.SendWithCommit(InsertCommand(entry));
        return Task.CompletedTask;
    }

    public async Task RecordRefusalAsync(CapturedActivity activity, CancellationToken cancellationToken)
    {
        if (context.WorkspaceId is not { } workspaceId)
        {
            LogUnattributableRefusal(activity.Action);
            return;
        }

        var entry = Describe(workspaceId, activity.Action, activity.EntityType, activity.EntityId, activity.Outcome,
            ActivityMetadata.FromCaptured(activity.Metadata));
        await WriteAloneAsync(entry, activity, cancellationToken);
    }

    public void RecordInJoinedTransaction(CapturedActivity activity)
    {
        var entry = Describe(joined.WorkspaceId, activity.Action, activity.EntityType, activity.EntityId, activity.Outcome,
            ActivityMetadata.FromCaptured(activity.Metadata));
        joined.Add(() => InsertCommand(entry));
    }

    public async Task RecordAloneAsync(CapturedActivity activity, CancellationToken cancellationToken)
    {
        var entry = Describe(context.RequireWorkspace(), activity.Action, activity.EntityType, activity.EntityId, activity.Outcome,
            ActivityMetadata.FromCaptured(activity.Metadata));
        await WriteAloneAsync(entry, activity, cancellationToken);
    }

    /// <summary>One row in a short transaction of its own, under the row's workspace.</summary>
    private async Task WriteAloneAsync(ActivityEntry entry, CapturedActivity activity, CancellationToken cancellationToken)
    {
        var workspaceId = entry.WorkspaceId;
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection, transaction);
            batch.BatchCommands.Add(WorkspaceSetting.Command(workspaceId));
            batch.BatchCommands.Add(InsertCommand(entry));
            await batch.ExecuteNonQueryAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        }
        catch (Exception ex) when ((ex is NpgsqlException or TimeoutException or InvalidOperationException) && !DatabaseFailure.IsUnreachable(ex))
        {
            // The client still gets its refusal; losing the record of it must not turn a 409 into a 500.
            // A database that cannot be reached is let through: the answer is 503, and the retry is recorded.
            LogNotRecorded(ex, activity.Action, activity.Outcome);
        }
    }

    /// <summary>A row for the current request, not yet written.</summary>
    public ActivityEntry Describe(Guid workspaceId, string action, string entityType, string? entityId, ActivityOutcome outcome, string? metadata)
    {
        var now = clock.UtcNowMicros();
        return new ActivityEntry
        {
            Id = Guid.CreateVersion7(new DateTimeOffset(now)),
            WorkspaceId = workspaceId,
            ActorId = context.RequireActor(),
            Action = action,
            EntityType = entityType,
            EntityId = entityId,
            Outcome = outcome,
            Metadata = metadata,
            IpAddress = ParseAddress(context.IpAddress),
            UserAgent = context.UserAgent,
            CorrelationId = context.CorrelationId,
            TraceParent = Telemetry.CurrentTraceParent(),
            OccurredAt = now,
        };
    }

    /// <summary>
    /// One INSERT through the module's DbContext, on the command's connection and in its transaction.
    /// Raw SQL rather than <c>SaveChanges</c>: change tracking, SQL generation and <c>RETURNING</c>
    /// cost more than the insert itself, and the capture runs on every command.
    /// </summary>
    public async Task AddInSessionAsync(ActivityEntry entry, CancellationToken cancellationToken)
    {
        var db = services.GetRequiredService<ActivityDbContext>();
        await db.Database.ExecuteSqlRawAsync(InsertTracedSql, Parameters(entry), cancellationToken);
    }

    private static NpgsqlBatchCommand InsertCommand(ActivityEntry entry)
    {
        var command = new NpgsqlBatchCommand(InsertTracedSql);
        command.Parameters.AddRange(Parameters(entry));
        return command;
    }

    private static NpgsqlParameter[] Parameters(ActivityEntry entry) =>
    [
        new("id", NpgsqlDbType.Uuid) { Value = entry.Id },
        new("workspace_id", NpgsqlDbType.Uuid) { Value = entry.WorkspaceId },
        new("actor_id", NpgsqlDbType.Text) { Value = entry.ActorId },
        new("action", NpgsqlDbType.Text) { Value = entry.Action },
        new("entity_type", NpgsqlDbType.Text) { Value = entry.EntityType },
        new("entity_id", NpgsqlDbType.Text) { Value = (object?)entry.EntityId ?? DBNull.Value },
        new("outcome", NpgsqlDbType.Text) { Value = ActivityRules.Spell(entry.Outcome) },
        new("metadata", NpgsqlDbType.Jsonb) { Value = (object?)entry.Metadata ?? DBNull.Value },
        new("ip_address", NpgsqlDbType.Inet) { Value = (object?)entry.IpAddress ?? DBNull.Value },
        new("user_agent", NpgsqlDbType.Text) { Value = (object?)entry.UserAgent ?? DBNull.Value },
        new("correlation_id", NpgsqlDbType.Text) { Value = (object?)entry.CorrelationId ?? DBNull.Value },
        new("occurred_at", NpgsqlDbType.TimestampTz) { Value = entry.OccurredAt },
        new("trace_parent", NpgsqlDbType.Text) { Value = (object?)entry.TraceParent ?? DBNull.Value },
    ];

    /// <summary>IPv4 peers of a dual-stack socket arrive as <c>::ffff:a.b.c.d</c>; they are stored as <c>a.b.c.d</c>.</summary>
    internal static IPAddress? ParseAddress(string? text) =>
        IPAddress.TryParse(text, out var address)
            ? address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "A refused {Action} has no workspace to be recorded in.")]
    private partial void LogUnattributableRefusal(string action);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not record a {Action} ({Outcome}) in a transaction of its own in the activity log.")]
    private partial void LogNotRecorded(Exception exception, string action, ActivityOutcome outcome);
}
