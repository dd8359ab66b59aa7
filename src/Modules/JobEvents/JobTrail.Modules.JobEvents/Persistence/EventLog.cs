using JobTrail.BuildingBlocks.Observability;
using NpgsqlTypes;

namespace JobTrail.Modules.JobEvents.Persistence;

/// <summary>
/// An event to append; <see cref="OccurredAt"/> null means "when it is recorded". <see cref="PrintedJson"/>, when
/// given, is what jsonb is expected to print for <see cref="PayloadJson"/> (StoredJson.Print of a client's payload).
/// </summary>
internal sealed record NewEvent(Guid Id, string Type, Guid? StepId, string? PayloadJson, DateTime? OccurredAt, string? PrintedJson = null);

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
    DateTime Now,
    string? TraceParent = null);

/// <summary>Why an append wrote nothing: no stream (no such job here), a sealed stream, or a used key.</summary>
internal sealed record AppendRefusal(bool StreamExists, bool Sealed, byte[]? KeyRequestHash, IReadOnlyList<EventRecord> KeyEvents);

/// <summary>
/// The append to a job's event log and its hash-chain link, in raw SQL on the request's
/// <see cref="DbSession"/>: appending is the hot path, and one statement does all of it (lock and
/// advance the stream, insert the events and their outbox rows, NOTIFY) in a single round trip.
/// <see cref="ExplainRefusalAsync"/> belongs here too: an empty append is explained by re-reading
/// what the append's own statement checked (stream, seal, key).
/// </summary>
internal sealed class EventLog(DbSession session, IntegrityKeyRing keys)
{
    public const string Schema = "job_events";

    /// <summary>The NOTIFY channel; the payload is the job id.</summary>
    public const string Channel = "job_events";

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

    /// <summary>
    /// The events of one append, numbered after the advanced stream row <c>s</c>, and their outbox row (the
    /// range of seqs they took, pointing at the first event) with the emit's trace: the same in every append, system (<see cref="AppendTemplate"/>) or grouped client
    /// (<see cref="GroupCommitWriter"/>).
    /// </summary>
    internal const string InsertEventsAndOutbox = """
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
            insert into job_events.outbox (event_id, workspace_id, job_id, seq, last_seq, created_at, trace_parent)
            select (@ids)[1], @workspace, @job, min(seq), max(seq), min(recorded_at), @trace from e
            having count(*) > 0
        )
        """;

    // The key row goes first: a concurrent request with the same key waits on it, then finds it
    // taken and writes nothing. Without a key, k is empty and unused.
    private const string AppendTemplate = $$"""
        with k as (
            insert into job_events.idempotency_keys (job_id, idempotency_key, workspace_id, request_hash, created_at)
            select @job, @key, @workspace, @hash, @now where @key is not null
            on conflict (job_id, idempotency_key) do nothing
            returning 1
        ),
        s as (
            {0}
        ),
        {{InsertEventsAndOutbox}},
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
    public async Task<IReadOnlyList<EventRecord>> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        var (stored, prevHash) = await InsertAsync(request, cancellationToken);
        if (stored.Count > 0)
        {
            await LinkAsync(request.JobId, stored, prevHash, cancellationToken);
        }

        return stored;
    }

    private async Task<(List<EventRecord> Stored, byte[]? PrevHash)> InsertAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        var events = request.Events;
        await session.EnsureWorkspaceAsync(cancellationToken); // a no-op after the command's first statement
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
        p.Add(new NpgsqlParameter("trace", NpgsqlDbType.Text) { Value = (object?)Telemetry.CurrentTraceParent() ?? DBNull.Value });
        p.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.Id).ToArray() });
        p.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.Type).ToArray() });
        p.Add(new NpgsqlParameter("steps", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.StepId).ToArray() });
        p.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.PayloadJson).ToArray() });
        p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = events.Select(e => e.OccurredAt).ToArray() });

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var stored = new List<EventRecord>(events.Count);
        byte[]? prevHash = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            stored.Add(EventRows.Read(reader));
            prevHash = reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11);
        }

        return (stored, prevHash);
    }

    private async Task LinkAsync(Guid jobId, IReadOnlyList<EventRecord> stored, byte[]? prevHash, CancellationToken cancellationToken)
    {
        var links = new ChainLink[stored.Count];
        for (var i = 0; i < stored.Count; i++)
        {
            var e = stored[i];
            links[i] = ChainFormat.Link(keys, ChainKind.Events, e.WorkspaceId, e.JobId, e.Seq, e.OccurredAt, ChainFormat.Digest(e), prevHash);
            prevHash = links[i].Hash;
        }

        await using var batch = session.CreateBatch();
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
        await using var batch = session.CreateBatch();
        batch.BatchCommands.Add(EventRows.Command(
            "select sealed_at is not null from job_events.job_streams where workspace_id = $1 and job_id = $2", session.WorkspaceId, jobId));
        if (idempotencyKey is not null)
        {
            batch.BatchCommands.Add(EventRows.Command(
                "select request_hash from job_events.idempotency_keys where workspace_id = $1 and job_id = $2 and idempotency_key = $3",
                session.WorkspaceId, jobId, idempotencyKey));
            batch.BatchCommands.Add(EventRows.Command(
                $"select {EventRows.Columns} from job_events.events where workspace_id = $1 and job_id = $2 and idempotency_key = $3 order by seq",
                session.WorkspaceId, jobId, idempotencyKey));
        }

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        bool? sealedStream = await reader.ReadAsync(cancellationToken) ? reader.GetBoolean(0) : null;
        byte[]? hash = null;
        var keyEvents = new List<EventRecord>();
        if (idempotencyKey is not null)
        {
            await reader.NextResultAsync(cancellationToken);
            hash = await reader.ReadAsync(cancellationToken) ? reader.GetFieldValue<byte[]>(0) : null;
            await reader.NextResultAsync(cancellationToken);
            keyEvents = await EventRows.ReadAllAsync(reader, cancellationToken);
        }

        return new AppendRefusal(sealedStream is not null, sealedStream ?? false, hash, keyEvents);
    }

    /// <summary>Whether the job has a stream in this workspace.</summary>
    public async Task<bool> StreamExistsAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var batch = EventRows.Batch(session);
        batch.BatchCommands.Add(EventRows.StreamExists(session, jobId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken);
    }
}
