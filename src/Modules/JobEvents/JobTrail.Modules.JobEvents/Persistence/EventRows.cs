
namespace JobTrail.Modules.JobEvents.Persistence;

/// <summary>
/// The one way rows of <c>job_events.events</c> are read: one column list, one reader function, and
/// the batch command every read is built from. A stored event is an <see cref="EventRecord"/>, the
/// same record the chain digests.
/// </summary>
internal static class EventRows
{
    /// <summary>The columns of an event, in the order <see cref="Read"/> expects them.</summary>
    public const string Columns =
        "id, job_id, workspace_id, seq, type, step_id, payload::text, actor_id, correlation_id, occurred_at, recorded_at";

    /// <summary><see cref="Columns"/> qualified by a table alias, for joins.</summary>
    public static string ColumnsOf(string alias) =>
        string.Join(", ", Columns.Split(", ").Select(c => $"{alias}.{c}"));

    /// <summary>The event whose columns start at <paramref name="first"/>.</summary>
    public static EventRecord Read(NpgsqlDataReader reader, int first = 0) => new(
        Id: reader.GetGuid(first),
        WorkspaceId: reader.GetGuid(first + 2),
        JobId: reader.GetGuid(first + 1),
        Seq: reader.GetInt64(first + 3),
        Type: reader.GetString(first + 4),
        StepId: reader.IsDBNull(first + 5) ? null : reader.GetGuid(first + 5),
        PayloadJson: reader.IsDBNull(first + 6) ? null : reader.GetString(first + 6),
        ActorId: reader.GetString(first + 7),
        CorrelationId: reader.GetString(first + 8),
        OccurredAt: reader.GetFieldValue<DateTime>(first + 9),
        RecordedAt: reader.GetFieldValue<DateTime>(first + 10));

    /// <summary>Every row of the reader's current result.</summary>
    public static async Task<List<EventRecord>> ReadAllAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var events = new List<EventRecord>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(Read(reader));
        }

        return events;
    }

    /// <summary>A statement with positional parameters <c>$1</c>, <c>$2</c>, … in the order given.</summary>
    public static NpgsqlBatchCommand Command(string sql, params object[] values) => Sql.Statement(sql, values);

    /// <summary>One row when the job has a stream in the session's workspace, none otherwise.</summary>
    public static NpgsqlBatchCommand StreamExists(DbSession session, Guid jobId) =>
        Command("select 1 from job_events.job_streams where workspace_id = $1 and job_id = $2", session.WorkspaceId, jobId);

    public static NpgsqlBatch Batch(DbSession session) => session.CreateBatch();
}

/// <summary>How far a job's log goes, and whether its terminal event has sealed it.</summary>
internal sealed record StreamHead(long LastSeq, bool Sealed)
{
    /// <summary>The job's stream head: null when the job has no stream in the session's workspace.</summary>
    public static async Task<StreamHead?> ReadAsync(DbSession session, Guid jobId, CancellationToken cancellationToken)
    {
        await using var batch = EventRows.Batch(session);
        batch.BatchCommands.Add(EventRows.Command(
            "select last_seq, sealed_at is not null from job_events.job_streams where workspace_id = $1 and job_id = $2", session.WorkspaceId, jobId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StreamHead(reader.GetInt64(0), reader.GetBoolean(1)) : null;
    }
}
