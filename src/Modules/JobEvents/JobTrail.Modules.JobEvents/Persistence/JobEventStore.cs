using System.Text;
using JobTrail.BuildingBlocks.Persistence;
using Npgsql;
using NpgsqlTypes;

namespace JobTrail.Modules.JobEvents.Persistence;

/// <summary>An event to append; <see cref="OccurredAt"/> null means "when it is recorded".</summary>
internal sealed record NewEvent(Guid Id, string Type, Guid? StepId, string? PayloadJson, DateTime? OccurredAt);

/// <summary>
/// One append: the events of one job, in order. <see cref="CreateStream"/> lets the first event of
/// a job create its stream (system emission); clients may only append to an existing stream.
/// With an <see cref="IdempotencyKey"/>, nothing is written when the key was used on this job before.
/// </summary>
internal sealed record AppendRequest(
    Guid JobId,
    IReadOnlyList<NewEvent> Events,
    bool CreateStream,
    bool Seal,
    string? IdempotencyKey,
    byte[]? RequestHash,
    string ActorId,
    string CorrelationId,
    DateTime Now);

internal sealed record StoredEvent(
    Guid Id,
    Guid JobId,
    Guid WorkspaceId,
    long Seq,
    string Type,
    Guid? StepId,
    string? PayloadJson,
    string ActorId,
    string CorrelationId,
    DateTime OccurredAt,
    DateTime RecordedAt);

/// <summary>Why an append wrote nothing: no stream (no such job here), a sealed stream, or a used key.</summary>
internal sealed record AppendRefusal(bool StreamExists, bool Sealed, byte[]? KeyRequestHash, IReadOnlyList<StoredEvent> KeyEvents);

/// <summary>How far a job's log goes, and whether its terminal event has sealed it.</summary>
internal sealed record StreamHead(long LastSeq, bool Sealed);

internal sealed record EventFilter(Guid JobId, long AfterSeq, IReadOnlyList<string>? Types, DateTime? From, DateTime? To);

/// <summary>
/// The job_events schema, in raw SQL on the request's <see cref="DbSession"/>: appending is the hot
/// path, and one statement does all of it (lock and advance the stream, insert the events and their
/// outbox rows, NOTIFY) in a single round trip.
/// </summary>
internal sealed class JobEventStore(DbSession session)
{
    public const string Schema = "job_events";

    /// <summary>The NOTIFY channel; the payload is the job id.</summary>
    public const string Channel = "job_events";

    private const string Columns =
        "id, job_id, workspace_id, seq, type, step_id, payload::text, actor_id, correlation_id, occurred_at, recorded_at";

    // Client appends: the stream must exist (that is how an unknown job, or one of another workspace,
    // is told apart) and be open. UPDATE takes the row lock, so concurrent appends queue here.
    private const string AdvanceExistingStream = """
        update job_events.job_streams
        set last_seq = last_seq + @count, sealed_at = @sealed
        where job_id = @job and sealed_at is null
          and (@key is null or exists (select from k))
        returning last_seq - @count as base
        """;

    // System appends: the job's first event creates its stream.
    private const string CreateOrAdvanceStream = """
        insert into job_events.job_streams as js (job_id, workspace_id, last_seq, created_at, sealed_at)
        values (@job, @workspace, @count, @now, @sealed)
        on conflict (job_id) do update set last_seq = js.last_seq + excluded.last_seq, sealed_at = excluded.sealed_at
        where js.sealed_at is null
        returning last_seq - @count as base
        """;

    // The key row goes first: a concurrent request with the same key waits on it, then finds it
    // taken and writes nothing. Without a key, k is empty and unused.
    private const string AppendTemplate = """
        with k as (
            insert into job_events.idempotency_keys (job_id, idempotency_key, workspace_id, request_hash, created_at)
            select @job, @key, @workspace, @hash, @now where @key is not null
            on conflict (job_id, idempotency_key) do nothing
            returning 1
        ),
        s as (
            {0}
        ),
        e as (
            insert into job_events.events
                (id, workspace_id, job_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key)
            select u.id, @workspace, @job, s.base + u.ord, u.type, u.step_id, u.payload::jsonb, @actor, @correlation,
                   coalesce(u.occurred_at, @now), @now, @key
            from s cross join unnest(@ids, @types, @steps, @payloads, @occurred)
                with ordinality as u(id, type, step_id, payload, occurred_at, ord)
            returning id, job_id, workspace_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at
        ),
        o as (
            insert into job_events.outbox (event_id, workspace_id, job_id, seq, created_at)
            select id, workspace_id, job_id, seq, recorded_at from e order by seq
        ),
        n as (
            select pg_notify('{1}', @job::text) where exists (select from s)
        )
        select e.id, e.job_id, e.workspace_id, e.seq, e.type, e.step_id, e.payload::text, e.actor_id, e.correlation_id,
               e.occurred_at, e.recorded_at
        from e cross join n
        order by e.seq
        """;

    private static readonly string AppendToExisting = string.Format(System.Globalization.CultureInfo.InvariantCulture, AppendTemplate, AdvanceExistingStream, Channel);
    private static readonly string AppendCreating = string.Format(System.Globalization.CultureInfo.InvariantCulture, AppendTemplate, CreateOrAdvanceStream, Channel);

    /// <summary>Appends all the events or none; an empty answer means nothing was written (see <see cref="ExplainRefusalAsync"/>).</summary>
    public async Task<IReadOnlyList<StoredEvent>> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        var events = request.Events;
        await using var command = new NpgsqlCommand(request.CreateStream ? AppendCreating : AppendToExisting, session.Connection, session.Transaction);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("job", NpgsqlDbType.Uuid) { Value = request.JobId });
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = session.WorkspaceId });
        p.Add(new NpgsqlParameter("count", NpgsqlDbType.Bigint) { Value = (long)events.Count });
        p.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = request.Now });
        p.Add(new NpgsqlParameter("sealed", NpgsqlDbType.TimestampTz) { Value = request.Seal ? request.Now : DBNull.Value });
        p.Add(new NpgsqlParameter("key", NpgsqlDbType.Text) { Value = (object?)request.IdempotencyKey ?? DBNull.Value });
        p.Add(new NpgsqlParameter("hash", NpgsqlDbType.Bytea) { Value = (object?)request.RequestHash ?? DBNull.Value });
        p.Add(new NpgsqlParameter("actor", NpgsqlDbType.Text) { Value = request.ActorId });
        p.Add(new NpgsqlParameter("correlation", NpgsqlDbType.Text) { Value = request.CorrelationId });
        p.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.Id).ToArray() });
        p.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.Type).ToArray() });
        p.Add(new NpgsqlParameter("steps", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.StepId).ToArray() });
        p.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.PayloadJson).ToArray() });
        p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = events.Select(e => e.OccurredAt).ToArray() });

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var stored = new List<StoredEvent>(events.Count);
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(Read(reader));
        }

        return stored;
    }

    /// <summary>After an append wrote nothing: the stream's state and, for a key, what it was first used for.</summary>
    public async Task<AppendRefusal> ExplainRefusalAsync(Guid jobId, string? idempotencyKey, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(Command("select sealed_at is not null from job_events.job_streams where job_id = $1", jobId));
        if (idempotencyKey is not null)
        {
            batch.BatchCommands.Add(Command(
                "select request_hash from job_events.idempotency_keys where job_id = $1 and idempotency_key = $2", jobId, idempotencyKey));
            batch.BatchCommands.Add(Command(
                $"select {Columns} from job_events.events where job_id = $1 and idempotency_key = $2 order by seq", jobId, idempotencyKey));
        }

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        bool? sealedStream = await reader.ReadAsync(cancellationToken) ? reader.GetBoolean(0) : null;
        byte[]? hash = null;
        var keyEvents = new List<StoredEvent>();
        if (idempotencyKey is not null)
        {
            await reader.NextResultAsync(cancellationToken);
            hash = await reader.ReadAsync(cancellationToken) ? reader.GetFieldValue<byte[]>(0) : null;
            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                keyEvents.Add(Read(reader));
            }
        }

        return new AppendRefusal(sealedStream is not null, sealedStream ?? false, hash, keyEvents);
    }

    /// <summary>Up to <paramref name="take"/> events in seq order, and whether the job's stream exists at all.</summary>
    public async Task<(bool StreamExists, IReadOnlyList<StoredEvent> Events)> ListAsync(EventFilter filter, int take, CancellationToken cancellationToken)
    {
        var sql = new StringBuilder($"select {Columns} from job_events.events where workspace_id = $1 and job_id = $2 and seq > $3");
        var list = Command(string.Empty, session.WorkspaceId, filter.JobId, filter.AfterSeq);
        if (filter.Types is { Count: > 0 })
        {
            list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text, Value = filter.Types.ToArray() });
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $" and type = any(${list.Parameters.Count})");
        }

        if (filter.From is { } from)
        {
            list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = from });
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $" and occurred_at >= ${list.Parameters.Count}");
        }

        if (filter.To is { } to)
        {
            list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.TimestampTz, Value = to });
            sql.Append(System.Globalization.CultureInfo.InvariantCulture, $" and occurred_at < ${list.Parameters.Count}");
        }

        list.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = take });
        sql.Append(System.Globalization.CultureInfo.InvariantCulture, $" order by seq limit ${list.Parameters.Count}");
        list.CommandText = sql.ToString();

        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(StreamExistsCommand(filter.JobId));
        batch.BatchCommands.Add(list);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var exists = await reader.ReadAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var events = new List<StoredEvent>();
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(Read(reader));
        }

        return (exists, events);
    }

    public async Task<(bool StreamExists, StoredEvent? Event)> GetAsync(Guid jobId, Guid eventId, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(StreamExistsCommand(jobId));
        batch.BatchCommands.Add(Command(
            $"select {Columns} from job_events.events where workspace_id = $1 and job_id = $2 and id = $3", session.WorkspaceId, jobId, eventId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var exists = await reader.ReadAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var found = await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
        return (exists, found);
    }

    /// <summary>The job's stream head: null when the job has no stream in this workspace.</summary>
    public async Task<StreamHead?> GetHeadAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(Command(
            "select last_seq, sealed_at is not null from job_events.job_streams where workspace_id = $1 and job_id = $2", session.WorkspaceId, jobId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new StreamHead(reader.GetInt64(0), reader.GetBoolean(1)) : null;
    }

    public async Task<bool> StreamExistsAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(StreamExistsCommand(jobId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken);
    }

    private NpgsqlBatchCommand StreamExistsCommand(Guid jobId) =>
        Command("select 1 from job_events.job_streams where workspace_id = $1 and job_id = $2", session.WorkspaceId, jobId);

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    /// <summary>
    /// For the relay, outside any request: the events with these ids in one workspace, read under that
    /// workspace's row-level security setting.
    /// </summary>
    public static async Task<List<StoredEvent>> ReadForRelayAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid workspaceId, Guid[] ids, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        batch.BatchCommands.Add(WorkspaceSetting.Command(workspaceId));
        batch.BatchCommands.Add(Command($"select {Columns} from job_events.events where workspace_id = $1 and id = any($2)", workspaceId, ids));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var events = new List<StoredEvent>(ids.Length);
        while (await reader.ReadAsync(cancellationToken))
        {
            events.Add(Read(reader));
        }

        return events;
    }

    private static StoredEvent Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetGuid(1),
        reader.GetGuid(2),
        reader.GetInt64(3),
        reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetGuid(5),
        reader.IsDBNull(6) ? null : reader.GetString(6),
        reader.GetString(7),
        reader.GetString(8),
        reader.GetFieldValue<DateTime>(9),
        reader.GetFieldValue<DateTime>(10));
}
