using System.Net;
using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Behaviors;
using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.Activity.Domain;
using JobTrail.Modules.Activity.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;

namespace JobTrail.Modules.Activity.Capture;

/// <summary>
/// Writes activity rows. Who and from where come from the request context; the workspace is the
/// one the command's transaction runs as (for a refusal, the caller's own).
/// </summary>
internal sealed partial class ActivityRecorder(
    IServiceProvider services,
    DbSession session,
    RequestContext context,
    NpgsqlDataSource dataSource,
    TimeProvider clock,
    ILogger<ActivityRecorder> logger) : IActivityCapture
{
    private const string InsertSql = """
        insert into activity.activity_logs
            (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent, correlation_id, occurred_at)
        values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        """;

    public async Task RecordInTransactionAsync(CapturedActivity activity, CancellationToken cancellationToken)
    {
        var entry = Describe(session.WorkspaceId, activity.Action, activity.EntityType, activity.EntityId, activity.Outcome,
            ActivityMetadata.FromCaptured(activity.Metadata));
        await AddInSessionAsync(entry, cancellationToken);
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
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            // The client still gets its refusal; losing the record of it must not turn a 409 into a 500.
            LogRefusalNotRecorded(ex, activity.Action, activity.Outcome);
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
            OccurredAt = now,
        };
    }

    /// <summary>One INSERT through the module's DbContext, on the command's connection and in its transaction.</summary>
    public async Task AddInSessionAsync(ActivityEntry entry, CancellationToken cancellationToken)
    {
        var db = services.GetRequiredService<ActivityDbContext>();
        db.Activities.Add(entry);
        await db.SaveChangesAsync(cancellationToken);
        db.Entry(entry).State = EntityState.Detached;
    }

    private static NpgsqlBatchCommand InsertCommand(ActivityEntry entry) => new(InsertSql)
    {
        Parameters =
        {
            new NpgsqlParameter { Value = entry.Id },
            new NpgsqlParameter { Value = entry.WorkspaceId },
            new NpgsqlParameter { Value = entry.ActorId },
            new NpgsqlParameter { Value = entry.Action },
            new NpgsqlParameter { Value = entry.EntityType },
            new NpgsqlParameter { Value = (object?)entry.EntityId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new NpgsqlParameter { Value = ActivityRules.Spell(entry.Outcome) },
            new NpgsqlParameter { Value = (object?)entry.Metadata ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Jsonb },
            new NpgsqlParameter { Value = (object?)entry.IpAddress ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Inet },
            new NpgsqlParameter { Value = (object?)entry.UserAgent ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new NpgsqlParameter { Value = (object?)entry.CorrelationId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
            new NpgsqlParameter { Value = entry.OccurredAt, NpgsqlDbType = NpgsqlDbType.TimestampTz },
        },
    };

    /// <summary>IPv4 peers of a dual-stack socket arrive as <c>::ffff:a.b.c.d</c>; they are stored as <c>a.b.c.d</c>.</summary>
    internal static IPAddress? ParseAddress(string? text) =>
        IPAddress.TryParse(text, out var address)
            ? address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address
            : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "A refused {Action} has no workspace to be recorded in.")]
    private partial void LogUnattributableRefusal(string action);

    [LoggerMessage(Level = LogLevel.Error, Message = "Could not record a refused {Action} ({Outcome}) in the activity log.")]
    private partial void LogRefusalNotRecorded(Exception exception, string action, ActivityOutcome outcome);
}
