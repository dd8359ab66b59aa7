using System.Text;
using JobTrail.BuildingBlocks.Integrity;
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
    DateTime RecordedAt)
{
    public EventRecord ToRecord() =>
        new(Id, WorkspaceId, JobId, Seq, Type, StepId, PayloadJson, ActorId, CorrelationId, OccurredAt, RecordedAt);
}

/// <summary>How far a job's chain may reach: the stream's head and the highest seq among its events and links.</summary>
internal sealed record ChainExtent(long HeadSeq, long MaxSeq);

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
internal sealed class JobEventStore(DbSession session, IntegrityKeyRing keys)
{
    public const string Schema = "job_events";

    /// <summary>The workspace the request's session runs as.</summary>
    public Guid WorkspaceId => session.WorkspaceId;

    /// <summary>The NOTIFY channel; the payload is the job id.</summary>
    public const string Channel = "job_events";

    private const string Columns =
        "id, job_id, workspace_id, seq, type, step_id, payload::text, actor_id, correlation_id, occurred_at, recorded_at";

    // Client appends: the stream must exist (that is how an unknown job, or one of another workspace,
    // is told apart) and be open. UPDATE takes the row lock, so concurrent appends queue here.
    private const string AdvanceExistingStream = """
        update job_events.job_streams
        set last_seq = last_seq + @count, sealed_at = @sealed
        where job_id = @job and workspace_id = @workspace and sealed_at is null
          and (@key is null or exists (select from k))
        returning last_seq - @count as base, last_hash
        """;

    // System appends: the job's first event creates its stream.
    private const string CreateOrAdvanceStream = """
        insert into job_events.job_streams as js (job_id, workspace_id, last_seq, created_at, sealed_at)
        values (@job, @workspace, @count, @now, @sealed)
        on conflict (job_id) do update set last_seq = js.last_seq + excluded.last_seq, sealed_at = excluded.sealed_at
        where js.sealed_at is null
        returning last_seq - @count as base, last_hash
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
               e.occurred_at, e.recorded_at, s.last_hash
        from e cross join n cross join s
        order by e.seq
        """;

    // The links of the events just appended, and the stream's new head: the stream row is still locked.
    private const string LinkSql = """
        insert into job_events.event_links (workspace_id, job_id, seq, occurred_at, row_digest, prev_hash, hash, key_id)
        select @workspace, @job, u.seq, u.occurred_at, u.row_digest, u.prev_hash, u.hash, @key_id
        from unnest(@seqs, @occurred, @digests, @prevs, @hashes) as u(seq, occurred_at, row_digest, prev_hash, hash)
        """;

    private const string HeadSql = "update job_events.job_streams set last_hash = @last_hash where job_id = @job";

    private static readonly string AppendToExisting = string.Format(System.Globalization.CultureInfo.InvariantCulture, AppendTemplate, AdvanceExistingStream, Channel);
    private static readonly string AppendCreating = string.Format(System.Globalization.CultureInfo.InvariantCulture, AppendTemplate, CreateOrAdvanceStream, Channel);

    /// <summary>
    /// Appends all the events or none, and links them into the job's hash chain; an empty answer means
    /// nothing was written (see <see cref="ExplainRefusalAsync"/>). Two round trips: the append returns
    /// each event as stored (jsonb's normal form of the payload) with the hash of the job's last link,
    /// read under the stream's row lock; the links are computed here, where the key is, and inserted
    /// while that lock is still held, so links follow seq order however many append at once.
    /// </summary>
    public async Task<IReadOnlyList<StoredEvent>> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        var (stored, prevHash) = await InsertAsync(request, cancellationToken);
        if (stored.Count > 0)
        {
            await LinkAsync(request.JobId, stored, prevHash, cancellationToken);
        }

        return stored;
    }

    private async Task<(List<StoredEvent> Stored, byte[]? PrevHash)> InsertAsync(AppendRequest request, CancellationToken cancellationToken)
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
        byte[]? prevHash = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(Read(reader));
            prevHash = reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11);
        }

        return (stored, prevHash);
    }

    private async Task LinkAsync(Guid jobId, IReadOnlyList<StoredEvent> stored, byte[]? prevHash, CancellationToken cancellationToken)
    {
        var links = new ChainLink[stored.Count];
        for (var i = 0; i < stored.Count; i++)
        {
            var e = stored[i];
            links[i] = ChainFormat.Link(keys, ChainKind.Events, e.WorkspaceId, e.JobId, e.Seq, e.OccurredAt, ChainFormat.Digest(e.ToRecord()), prevHash);
            prevHash = links[i].Hash;
        }

        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        var insert = new NpgsqlBatchCommand(LinkSql);
        var p = insert.Parameters;
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = session.WorkspaceId });
        p.Add(new NpgsqlParameter("job", NpgsqlDbType.Uuid) { Value = jobId });
        p.Add(new NpgsqlParameter("key_id", NpgsqlDbType.Text) { Value = keys.Current.Id });
        p.Add(new NpgsqlParameter("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = links.Select(l => l.Seq).ToArray() });
        p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = links.Select(l => l.OccurredAt).ToArray() });
        p.Add(new NpgsqlParameter("digests", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = links.Select(l => l.RowDigest).ToArray() });
        p.Add(new NpgsqlParameter("prevs", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = links.Select(l => l.PrevHash).ToArray() });
        p.Add(new NpgsqlParameter("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = links.Select(l => l.Hash).ToArray() });
        batch.BatchCommands.Add(insert);
        batch.BatchCommands.Add(new NpgsqlBatchCommand(HeadSql)
        {
            Parameters =
            {
                new NpgsqlParameter("last_hash", NpgsqlDbType.Bytea) { Value = links[^1].Hash },
                new NpgsqlParameter("job", NpgsqlDbType.Uuid) { Value = jobId },
            },
        });
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>After an append wrote nothing: the stream's state and, for a key, what it was first used for.</summary>
    public async Task<AppendRefusal> ExplainRefusalAsync(Guid jobId, string? idempotencyKey, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(Command(
            "select sealed_at is not null from job_events.job_streams where workspace_id = $1 and job_id = $2", session.WorkspaceId, jobId));
        if (idempotencyKey is not null)
        {
            batch.BatchCommands.Add(Command(
                "select request_hash from job_events.idempotency_keys where workspace_id = $1 and job_id = $2 and idempotency_key = $3",
                session.WorkspaceId, jobId, idempotencyKey));
            batch.BatchCommands.Add(Command(
                $"select {Columns} from job_events.events where workspace_id = $1 and job_id = $2 and idempotency_key = $3 order by seq",
                session.WorkspaceId, jobId, idempotencyKey));
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

    /// <summary>The job's head and the highest seq recorded for it; null when the job has no stream in this workspace.</summary>
    public async Task<ChainExtent?> GetChainExtentAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(Command(
            """
            select js.last_seq,
                   greatest(js.last_seq,
                            (select max(seq) from job_events.events where workspace_id = $1 and job_id = $2),
                            (select max(seq) from job_events.event_links where workspace_id = $1 and job_id = $2))
            from job_events.job_streams js
            where js.workspace_id = $1 and js.job_id = $2
            """,
            session.WorkspaceId, jobId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new ChainExtent(reader.GetInt64(0), reader.GetInt64(1)) : null;
    }

    /// <summary>Every seq in (<paramref name="afterSeq"/>, <paramref name="upToSeq"/>] that has an event, a link or both, in seq order.</summary>
    public async Task<List<ChainEntry>> ReadChainAsync(Guid jobId, long afterSeq, long upToSeq, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(session.Connection, session.Transaction);
        batch.BatchCommands.Add(Command(
            """
            select coalesce(e.seq, l.seq),
                   e.id, e.job_id, e.workspace_id, e.seq, e.type, e.step_id, e.payload::text, e.actor_id, e.correlation_id,
                   e.occurred_at, e.recorded_at,
                   l.occurred_at, l.row_digest, l.prev_hash, l.hash, l.key_id
            from (select * from job_events.events where workspace_id = $1 and job_id = $2 and seq > $3 and seq <= $4) e
            full join (select * from job_events.event_links where workspace_id = $1 and job_id = $2 and seq > $3 and seq <= $4) l
                on l.seq = e.seq
            order by 1
            """,
            session.WorkspaceId, jobId, afterSeq, upToSeq));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var entries = new List<ChainEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var seq = reader.GetInt64(0);
            byte[]? digest = null;
            if (!reader.IsDBNull(1))
            {
                var row = new EventRecord(
                    reader.GetGuid(1), reader.GetGuid(3), reader.GetGuid(2), reader.GetInt64(4), reader.GetString(5),
                    reader.IsDBNull(6) ? null : reader.GetGuid(6), reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.GetString(8), reader.GetString(9), reader.GetFieldValue<DateTime>(10), reader.GetFieldValue<DateTime>(11));
                digest = ChainFormat.Digest(row);
            }

            var link = reader.IsDBNull(16)
                ? null
                : new ChainLink(
                    seq, reader.GetFieldValue<DateTime>(12), reader.GetFieldValue<byte[]>(13),
                    reader.IsDBNull(14) ? null : reader.GetFieldValue<byte[]>(14), reader.GetFieldValue<byte[]>(15), reader.GetString(16));
            entries.Add(new ChainEntry(seq, link, digest));
        }

        return entries;
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
