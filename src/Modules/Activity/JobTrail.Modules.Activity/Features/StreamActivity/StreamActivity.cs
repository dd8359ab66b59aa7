using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using JobTrail.BuildingBlocks.Streaming;
using JobTrail.Modules.Activity.Domain;

namespace JobTrail.Modules.Activity.Features.StreamActivity;

/// <summary>The filters of the activity feed: those of the list, except the time range and entity id.</summary>
internal sealed record ActivityFeedFilter(string? Action, string? EntityType, string? ActorId, string? Outcome) : IActivityFilter;

/// <summary>
/// Where a stream stands in feed order, <c>(xact_id, position)</c>: the writer's transaction id, then the
/// position. Rows are sent only once every transaction below their writer's has ended, so nothing can
/// later appear before the cursor (docs/adr/0027).
/// </summary>
internal readonly record struct FeedCursor(ulong XactId, long Position);

/// <summary>
/// Where a feed starts: after <see cref="Cursor"/>, leaving out rows already committed in the
/// snapshot <see cref="Since"/> when it started "now" (rows there sort after the horizon but are past).
/// </summary>
internal sealed record FeedStart(FeedCursor Cursor, string? Since);

/// <summary>
/// Opens the workspace's activity feed after <c>Last-Event-ID</c> (or <c>afterPosition</c>): the
/// position of an activity this feed sent. Without either it starts now.
/// </summary>
[RequiresScope(Scopes.ActivityRead)]
internal sealed record OpenActivityStreamQuery(ActivityFeedFilter Filter, long? AfterPosition, string? LastEventId) : IQuery<ActivityStream>
{
    public long? StartAfter => LastEventId is not null && long.TryParse(LastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
        ? id
        : AfterPosition;
}

internal sealed class OpenActivityStreamValidator : AbstractValidator<OpenActivityStreamQuery>
{
    public OpenActivityStreamValidator()
    {
        RuleFor(x => x.Filter).SetValidator(new ActivityFeedFilterValidator());
        RuleFor(x => x.AfterPosition).GreaterThanOrEqualTo(1).WithMessage("'afterPosition' must be the position of an activity (1 or more).");
        RuleFor(x => x.LastEventId)
            .Must(id => id is null || (long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n >= 1))
            .WithMessage("'Last-Event-ID' must be the position of an activity this stream sent.");
    }
}

internal sealed class ActivityFeedFilterValidator : AbstractValidator<ActivityFeedFilter>
{
    public ActivityFeedFilterValidator() => this.AddActivityFilterRules();
}

internal sealed class OpenActivityStreamHandler(
    DbSession session, StreamSlots slots, RequestContext context, ActivityStreamOptions options, IMediator mediator)
    : IRequestHandler<OpenActivityStreamQuery, ActivityStream>
{
    public async Task<ActivityStream> Handle(OpenActivityStreamQuery request, CancellationToken cancellationToken)
    {
        var start = request.StartAfter is { } position
            ? new FeedStart(
                await FeedRows.CursorOfAsync(session, position, cancellationToken)
                ?? throw new BadRequestException(
                    $"No activity at position {position.ToString(CultureInfo.InvariantCulture)} in this workspace: resume after a position this stream sent.",
                    "unknown_position"),
                null)
            : await FeedRows.NowAsync(session, cancellationToken);
        var slot = await slots.AcquireAsync(context.RequireWorkspace(), context.ApiKeyId, "activity stream");
        return new ActivityStream(request.Filter, start, slot, mediator, options);
    }
}

/// <summary>The next rows of the feed after a cursor, among those that are final.</summary>
[RequiresScope(Scopes.ActivityRead)]
internal sealed record ReadActivityFeedQuery(ActivityFeedFilter Filter, FeedCursor After, string? Since, int Limit) : IQuery<IReadOnlyList<FeedRow>>;

internal sealed record FeedRow(FeedCursor Cursor, string Json);

internal sealed class ReadActivityFeedValidator : AbstractValidator<ReadActivityFeedQuery>
{
    public ReadActivityFeedValidator()
    {
        RuleFor(x => x.Filter).SetValidator(new ActivityFeedFilterValidator());
        RuleFor(x => x.Limit).InclusiveBetween(1, 10_000);
    }
}

internal sealed class ReadActivityFeedHandler(DbSession session) : IRequestHandler<ReadActivityFeedQuery, IReadOnlyList<FeedRow>>
{
    public Task<IReadOnlyList<FeedRow>> Handle(ReadActivityFeedQuery request, CancellationToken cancellationToken) =>
        FeedRows.ReadAsync(session, request.Filter, request.After, request.Since, request.Limit, cancellationToken);
}

/// <summary>The feed's SQL: rows in <c>(xact_id, position)</c> order whose writer is below the snapshot's horizon.</summary>
internal static class FeedRows
{
    private const string Columns =
        "a.id, a.position, a.workspace_id, a.actor_id, a.action, a.entity_type, a.entity_id, a.outcome, a.metadata::text, " +
        "a.ip_address, a.user_agent, a.correlation_id, a.occurred_at, a.xact_id::text";

    /// <summary>The cursor of the row at <paramref name="position"/> in the session's workspace, or null.</summary>
    public static async Task<FeedCursor?> CursorOfAsync(DbSession session, long position, CancellationToken cancellationToken)
    {
        await using var command = session.CreateBatch(
            "select xact_id::text from activity.activity_logs where workspace_id = $1 and position = $2", session.WorkspaceId, position);
        return await command.ExecuteScalarAsync(cancellationToken) is string xact ? new FeedCursor(ParseXid(xact), position) : null;
    }

    /// <summary>"Now": after every row this snapshot sees, before every one it does not.</summary>
    public static async Task<FeedStart> NowAsync(DbSession session, CancellationToken cancellationToken)
    {
        await using var command = session.CreateBatch("select pg_snapshot_xmin(s)::text, s::text from (select pg_current_snapshot() as s) n");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new FeedStart(new FeedCursor(ParseXid(reader.GetString(0)), 0), reader.GetString(1));
    }

    /// <summary>
    /// The feed's read as a batch: <see cref="Sql.KeepIndexOrder"/>, then one statement, so that a feed resumed
    /// far back reads the next page from the index in order instead of sorting everything after its cursor.
    /// </summary>
    internal static NpgsqlBatch Batch(DbSession session, ActivityFeedFilter filter, FeedCursor after, string? since, int limit)
    {
        var args = new List<object> { session.WorkspaceId, after.XactId.ToString(CultureInfo.InvariantCulture), after.Position, limit };
        var where = new List<string>();
        if (since is not null)
        {
            args.Add(since);
            where.Add($"not pg_visible_in_snapshot(a.xact_id, ${args.Count}::pg_snapshot)");
        }

        if (filter.Action is not null)
        {
            if (ActivityRules.TryGetPrefix(filter.Action, out var entity))
            {
                // The action column sorts bytewise, so the prefix is a range: '.' + 1 = '/'.
                args.Add(entity + ".");
                args.Add(entity + "/");
                where.Add($"a.action >= ${args.Count - 1} and a.action < ${args.Count}");
            }
            else
            {
                args.Add(filter.Action);
                where.Add($"a.action = ${args.Count}");
            }
        }

        if (filter.EntityType is not null)
        {
            args.Add(filter.EntityType);
            where.Add($"a.entity_type = ${args.Count}");
        }

        if (filter.ActorId is not null)
        {
            args.Add(filter.ActorId);
            where.Add($"a.actor_id = ${args.Count}");
        }

        if (filter.Outcome is not null && ActivityRules.TryParseOutcome(filter.Outcome, out var outcome))
        {
            args.Add(ActivityRules.Spell(outcome));
            where.Add($"a.outcome = ${args.Count}");
        }

        var filters = where.Count == 0 ? string.Empty : " and " + string.Join(" and ", where);
        // One statement, so the horizon and the rows come from one snapshot: every writer below it has ended.
        var sql = $"""
            with h as materialized (select pg_snapshot_xmin(pg_current_snapshot()) as horizon)
            select {Columns} from h join activity.activity_logs a on a.xact_id < h.horizon
            where a.workspace_id = $1 and (a.xact_id, a.position) > ($2::xid8, $3){filters}
            order by a.xact_id, a.position
            limit $4
            """;
        var batch = session.CreateBatch();
        batch.BatchCommands.Add(Sql.KeepIndexOrderCommand());
        batch.BatchCommands.Add(Sql.Statement(sql, [.. args]));
        return batch;
    }

    public static async Task<IReadOnlyList<FeedRow>> ReadAsync(
        DbSession session, ActivityFeedFilter filter, FeedCursor after, string? since, int limit, CancellationToken cancellationToken)
    {
        await using var command = Batch(session, filter, after, since, limit);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<FeedRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var entry = new ActivityEntry
            {
                Id = reader.GetGuid(0),
                Position = reader.GetInt64(1),
                WorkspaceId = reader.GetGuid(2),
                ActorId = reader.GetString(3),
                Action = reader.GetString(4),
                EntityType = reader.GetString(5),
                EntityId = reader.IsDBNull(6) ? null : reader.GetString(6),
                Outcome = ActivityRules.TryParseOutcome(reader.GetString(7), out var o) ? o : throw new InvalidOperationException("Unknown outcome."),
                Metadata = reader.IsDBNull(8) ? null : reader.GetString(8),
                IpAddress = reader.IsDBNull(9) ? null : reader.GetFieldValue<IPAddress>(9),
                UserAgent = reader.IsDBNull(10) ? null : reader.GetString(10),
                CorrelationId = reader.IsDBNull(11) ? null : reader.GetString(11),
                OccurredAt = reader.GetFieldValue<DateTime>(12),
            };
            var json = JsonSerializer.Serialize(ActivityResponse.From(entry), JsonDefaults.Options);
            rows.Add(new FeedRow(new FeedCursor(ParseXid(reader.GetString(13)), entry.Position), json));
        }

        return rows;
    }

    private static ulong ParseXid(string text) => ulong.Parse(text, NumberStyles.None, CultureInfo.InvariantCulture);
}

/// <summary>
/// One client's feed: catches up from the start cursor page by page, then asks PostgreSQL every
/// <see cref="ActivityStreamOptions.PollInterval"/> for rows that have become final, with heartbeats
/// in between, until <see cref="ActivityStreamOptions.MaxDuration"/>. Each row is sent once, in feed order.
/// </summary>
internal sealed class ActivityStream(ActivityFeedFilter filter, FeedStart start, IDisposable slot, IMediator mediator, ActivityStreamOptions options)
    : IAsyncDisposable
{
    private FeedCursor cursor = start.Cursor;

    public TimeSpan Retry => options.Retry;

    public async IAsyncEnumerable<SseFrame> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + options.MaxDuration;
        var nextPing = DateTime.UtcNow + options.Heartbeat;
        while (DateTime.UtcNow < deadline)
        {
            IReadOnlyList<FeedRow> page;
            do
            {
                page = await mediator.Send(new ReadActivityFeedQuery(filter, cursor, start.Since, options.PageSize), cancellationToken);
                foreach (var row in page)
                {
                    cursor = row.Cursor;
                    yield return new SseFrame(row.Cursor.Position.ToString(CultureInfo.InvariantCulture), "activity", row.Json);
                }
            }
            while (page.Count == options.PageSize);

            if (DateTime.UtcNow >= nextPing)
            {
                yield return SseFrame.Ping;
                nextPing = DateTime.UtcNow + options.Heartbeat;
            }

            var wait = nextPing - DateTime.UtcNow;
            await Task.Delay(wait < options.PollInterval ? (wait > TimeSpan.Zero ? wait : TimeSpan.Zero) : options.PollInterval, cancellationToken);
        }
    }

    public ValueTask DisposeAsync()
    {
        slot.Dispose();
        return ValueTask.CompletedTask;
    }
}
