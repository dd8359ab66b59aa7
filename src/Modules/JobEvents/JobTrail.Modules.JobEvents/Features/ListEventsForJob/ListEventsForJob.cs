using System.Globalization;
using System.Text;
using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Persistence;
using NpgsqlTypes;
using JobTrail.Modules.JobEvents.Features.EmitEvent;

namespace JobTrail.Modules.JobEvents.Features.ListEventsForJob;

internal sealed record EventCursor(long Seq);

/// <summary>
/// A job's events in seq order, optionally only some types, only after a seq, and only those that
/// occurred in [from, to). Keyset-paged on seq.
/// </summary>
[RequiresScope(Scopes.EventsRead)]
[ReadsFromReplica]
internal sealed record ListEventsForJobQuery(
    Guid JobId, string? Types, long? AfterSeq, DateTimeOffset? From, DateTimeOffset? To, int? Limit, string? Cursor)
    : IQuery<Page<JobEventResponse>>
{
    public IReadOnlyList<string> TypeList =>
        Types is null ? [] : Types.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
}

internal sealed class ListEventsForJobValidator : AbstractValidator<ListEventsForJobQuery>
{
    public ListEventsForJobValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.Types).MaximumLength(1000).WithMessage("'types' must be at most 1000 characters.");
        RuleFor(x => x.TypeList).Must(types => types.All(JobEventTypes.IsKnown))
            .WithMessage(x => $"'types' names an unknown type ('{x.TypeList.First(t => !JobEventTypes.IsKnown(t))}'); the types are {EventLimits.KnownTypes}.")
            .OverridePropertyName("types");
        RuleFor(x => x.AfterSeq).GreaterThanOrEqualTo(0).WithMessage("'afterSeq' must be 0 or more.");
        RuleFor(x => x.To).LaterThanFrom(x => x.From);
        RuleFor(x => x.Limit).ValidLimit();
        RuleFor(x => x.Cursor).ValidCursor<ListEventsForJobQuery, EventCursor>();
    }
}

internal sealed class ListEventsForJobHandler(DbSession session) : IRequestHandler<ListEventsForJobQuery, Page<JobEventResponse>>
{
    public async Task<Page<JobEventResponse>> Handle(ListEventsForJobQuery request, CancellationToken cancellationToken)
    {
        var limit = request.Limit ?? Paging.DefaultLimit;
        var after = request.AfterSeq ?? 0;
        if (request.Cursor is not null)
        {
            after = Math.Max(after, Cursor.Decode<EventCursor>(request.Cursor).Seq);
        }

        var (streamExists, rows) = await ReadAsync(session, request, after, limit + 1, cancellationToken);
        if (!streamExists)
        {
            throw JobEventErrors.JobNotFound(request.JobId);
        }

        return Paging.ToPage(rows.Select(JobEventResponse.From).ToList(), limit, e => new EventCursor(e.Seq));
    }

    /// <summary>Up to <paramref name="take"/> events in seq order, and whether the job's stream exists at all.</summary>
    internal static async Task<(bool StreamExists, List<EventRecord> Events)> ReadAsync(
        DbSession session, ListEventsForJobQuery request, long afterSeq, int take, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"select {EventRows.Columns} from job_events.events where workspace_id = $1 and job_id = $2 and seq > $3");
        var list = EventRows.Command(string.Empty, session.WorkspaceId, request.JobId, afterSeq);
        if (request.TypeList is { Count: > 0 } types)
        {
            list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = types.ToArray() });
            sql.Append(CultureInfo.InvariantCulture, $" and type = any(${list.Parameters.Count})");
        }

        if (request.From is { } from)
        {
            list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = from.UtcDateTime });
            sql.Append(CultureInfo.InvariantCulture, $" and occurred_at >= ${list.Parameters.Count}");
        }

        if (request.To is { } to)
        {
            list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = to.UtcDateTime });
            sql.Append(CultureInfo.InvariantCulture, $" and occurred_at < ${list.Parameters.Count}");
        }

        list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = take });
        sql.Append(CultureInfo.InvariantCulture, $" order by seq limit ${list.Parameters.Count}");
        list.CommandText = sql.ToString();

        await using var batch = EventRows.Batch(session);
        batch.BatchCommands.Add(EventRows.StreamExists(session, request.JobId));
        batch.BatchCommands.Add(list);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var exists = await reader.ReadAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        return (exists, await EventRows.ReadAllAsync(reader, cancellationToken));
    }
}
