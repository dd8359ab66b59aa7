using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Behaviors;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.Hosting;
using NpgsqlTypes;

namespace JobTrail.Modules.JobEvents.Persistence;

/// <summary>Settings under <c>JobTrail:Events:GroupCommit</c>.</summary>
internal sealed record GroupCommitOptions
{
    /// <summary>The most client appends one transaction takes; what is queued beyond waits for the next.</summary>
    public int MaxRequests { get; init; } = 256;

    /// <summary>
    /// Writers (each one loop and one connection) that commit groups side by side. A job always goes to the same
    /// writer (by its id), so its appends queue, lock its stream row and commit in arrival order as with one.
    /// One by default: a second speeds batches up but slows single emits and live delivery (ADR 0042).
    /// </summary>
    public int Writers { get; init; } = 1;

    /// <summary>
    /// The events queued behind a busy writer from which a helper (a second loop and connection of the same writer)
    /// takes them in a transaction of its own, never an append of a job the writer holds (ADR 0047). Single emits
    /// and live traffic stay below it and keep one writer; batches ride on two. 0: no helper.
    /// </summary>
    public int HelperFromEvents { get; init; } = 200;

    /// <summary>
    /// One NOTIFY per group commit, for a relay that is active on another instance; none while this instance's
    /// relay holds every outbox partition (no other relay has anything of the group to claim).
    /// </summary>
    public bool NotifyOtherInstances { get; init; } = true;

    public const string Section = "JobTrail:Events:GroupCommit";
}

/// <summary>A client append as queued: the request's workspace, what it asks for, and who waits for the answer.</summary>
internal sealed class PendingAppend(Guid workspaceId, AppendRequest request, JoinedWrites? joined, CancellationToken cancellationToken)
{
    private readonly TaskCompletionSource<IReadOnlyList<EventRecord>> answer = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Guid WorkspaceId { get; } = workspaceId;
    public AppendRequest Request { get; } = request;

    /// <summary>What the request joined to its events (its activity row), written only if its events are.</summary>
    public JoinedWrites? Joined { get; } = joined;
    public CancellationToken CancellationToken { get; } = cancellationToken;

    /// <summary>The events as committed; empty when nothing was written (missing or sealed stream, used key).</summary>
    public Task<IReadOnlyList<EventRecord>> Answer => answer.Task;

    public void Complete(IReadOnlyList<EventRecord> stored) => answer.TrySetResult(stored);

    public void Fail(Exception ex) => answer.TrySetException(ex);

    public void Cancel() => answer.TrySetCanceled(CancellationToken);
}

/// <summary>
/// A seam for fault tests: runs after a group committed and before its requests are answered.
/// Not registered in production.
/// </summary>
internal interface IGroupCommitHook
{
    void AfterCommit(IReadOnlyList<PendingAppend> group);
}

/// <summary>
/// Group commit for client emits and batches. Requests queue their append with the writer of their job
/// (<see cref="GroupCommitOptions.Writers"/> of them, side by side, a job always with the same one); each
/// writer's loop takes whatever is queued (a lone request at once, with no wait for company), writes each workspace's share in one
/// transaction of its own connection (set_config to that workspace, every append pipelined in one
/// round trip, then every chain link, stream head and the COMMIT in a second), and only then answers
/// the requests. Appends that cannot write (missing or sealed stream, a used Idempotency-Key) write
/// nothing, not even their key row, and are explained by the request itself. If PostgreSQL refuses
/// the group, each request is written again alone, so one bad request never fails its neighbours.
/// </summary>
internal sealed class GroupCommitWriter(
    DatabaseOptions database,
    IntegrityKeyRing keys,
    GroupCommitOptions options,
    RelayWakeup relayWakeup,
    RelayState relayState,
    CommittedEvents committed,
    StreamHeads streamHeads,
    JobEventHub hub,
    IServiceProvider services,
    ILogger<GroupCommitWriter> logger) : BackgroundService
{
    private static readonly Meter Meter = new(PipelineMetrics.MeterName);
    private static readonly Histogram<int> GroupSize = Meter.CreateHistogram<int>(
        "jobtrail.group_commit.size", unit: "{request}", description: "Client appends committed together in one transaction");

    private static readonly Counter<long> AheadGroups = Meter.CreateCounter<long>(
        "jobtrail.group_commit.written_ahead", unit: "{group}", description: "Groups written in one round trip, their chain links made from remembered heads (ADR 0046)");

    private static readonly Counter<long> HelperTakes = Meter.CreateCounter<long>(
        "jobtrail.group_commit.helper_takes", unit: "{take}", description: "Backlogs a writer's helper took while the writer was busy (ADR 0047)");

    private static readonly Counter<long> RefusedAheadGroups = Meter.CreateCounter<long>(
        "jobtrail.group_commit.ahead_refused", unit: "{group}", description: "Groups written ahead that PostgreSQL refused (a head moved, a payload printed otherwise) and that were written again");

    // After the advanced stream row s: the request's events and outbox rows, and the events as stored with the
    // hash of the job's last link before them.
    private const string InsertAndReturnEvents = $$"""
        {{EventLog.InsertEventsAndOutbox}}
        select e.id, e.job_id, e.workspace_id, e.seq, e.type, e.step_id, e.payload::text, e.actor_id, e.correlation_id,
               e.occurred_at, e.recorded_at, s.last_hash
        from e cross join s
        order by e.seq
        """;

    // The stream row is locked first, and the key row is inserted only while the stream is open, so
    // an append that cannot write leaves nothing behind in the group's transaction. A concurrent
    // request with the same key (another instance) waits on the lock, then finds the key taken.
    private const string AppendSql = $$"""
        with st as (
            select 1 from job_events.job_streams
            where job_id = @job and workspace_id = @workspace and sealed_at is null
            for update
        ),
        k as (
            insert into job_events.idempotency_keys (job_id, idempotency_key, workspace_id, request_hash, created_at)
            select @job, @key, @workspace, @hash, @now where @key is not null and exists (select from st)
            on conflict (job_id, idempotency_key) do nothing
            returning 1
        ),
        s as (
            update job_events.job_streams
            set last_seq = last_seq + @count
            where job_id = @job and workspace_id = @workspace and sealed_at is null
              and exists (select from st)
              and (@key is null or exists (select from k))
            returning last_seq - @count as base, last_hash
        ),
        {{InsertAndReturnEvents}}
        """;

    // Without an Idempotency-Key (most emits) there is no key row to keep from being written, so the UPDATE
    // that advances the stream is also what locks it: one row lock and one index probe fewer per append.
    // A concurrent seal is still seen: the UPDATE waits for the row and re-checks sealed_at before it writes.
    private const string AppendWithoutKeySql = $$"""
        with s as (
            update job_events.job_streams
            set last_seq = last_seq + @count
            where job_id = @job and workspace_id = @workspace and sealed_at is null
            returning last_seq - @count as base, last_hash
        ),
        {{InsertAndReturnEvents}}
        """;

    // A group of appends without Idempotency-Keys in one statement: each job's stream advanced once by the
    // group's total for it (that UPDATE is also its row lock, re-checked against a concurrent seal), then every
    // event inserted at its job's base plus its place among that job's events in the group (arrival order), and
    // one outbox row per request (its range of seqs, pointing at its first event: head) in (job, seq) order. A job with no open stream here advances nothing and so gets no events:
    // its requests come back empty and are explained alone, as in the statement per request.
    private const string AppendGroupWithoutKeysSql = """
        with s as (
            update job_events.job_streams js
            set last_seq = js.last_seq + t.total
            from unnest(@stream_jobs, @stream_totals) as t(job, total)
            where js.job_id = t.job and js.workspace_id = @workspace and js.sealed_at is null
            returning js.job_id, js.last_seq - t.total as base, js.last_hash
        ),
        u as (
            select *
            from unnest(@jobs, @offsets, @ids, @heads, @types, @steps, @payloads, @occurred, @actors, @correlations, @nows, @traces)
                as u(job, place, id, head, type, step_id, payload, occurred_at, actor, correlation, recorded_at, trace)
        ),
        e as (
            insert into job_events.events
                (id, workspace_id, job_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key)
            select u.id, @workspace, u.job, s.base + u.place, u.type, u.step_id, u.payload::jsonb, u.actor, u.correlation,
                   coalesce(u.occurred_at, u.recorded_at), u.recorded_at, null
            from u join s on s.job_id = u.job
            returning id, job_id, workspace_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at
        ),
        o as (
            insert into job_events.outbox (event_id, workspace_id, job_id, seq, last_seq, created_at, trace_parent)
            select u.head, e.workspace_id, e.job_id, min(e.seq), max(e.seq), min(e.recorded_at), min(u.trace)
            from e join u on u.id = e.id
            group by u.head, e.workspace_id, e.job_id
            order by e.job_id, min(e.seq)
        )
        select e.id, e.job_id, e.workspace_id, e.seq, e.type, e.step_id, e.payload::text, e.actor_id, e.correlation_id,
               e.occurred_at, e.recorded_at, s.last_hash
        from e join s on s.job_id = e.job_id
        """;

    // Every link of the group in one insert; the workspace is the transaction's, which the policy checks.
    private const string LinksSql = """
        insert into job_events.event_links (workspace_id, job_id, seq, occurred_at, row_digest, prev_hash, hash, key_id)
        select @workspace, u.job, u.seq, u.occurred_at, u.row_digest, u.prev_hash, u.hash, @key_id
        from unnest(@jobs, @seqs, @occurred, @digests, @prevs, @hashes) as u(job, seq, occurred_at, row_digest, prev_hash, hash)
        """;

    private const string HeadsSql = """
        update job_events.job_streams js set last_hash = u.hash
        from unnest(@jobs, @hashes) as u(job, hash)
        where js.job_id = u.job and js.workspace_id = @workspace
        """;

    // A keyless group whose heads and printed payloads the writer knew (ADR 0046): each stream advanced to its new head
    // only if it is still open and where the writer expected it (the UPDATE is the row lock and re-reads the row after
    // a concurrent writer), the events, one outbox row per request, every chain link; then the check, which refuses the
    // statement (and so the COMMIT after it) unless every stream advanced and jsonb printed every payload as predicted.
    private const string AppendAheadSql = """
        with s as (
            update job_events.job_streams js
            set last_seq = t.last_seq, last_hash = t.last_hash
            from unnest(@stream_jobs, @stream_seqs, @stream_hashes, @stream_last_seqs, @stream_last_hashes)
                as t(job, seq, hash, last_seq, last_hash)
            where js.job_id = t.job and js.workspace_id = @workspace and js.sealed_at is null
              and js.last_seq = t.seq and js.last_hash is not distinct from t.hash
            returning 1
        ),
        e as (
            insert into job_events.events
                (id, workspace_id, job_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key)
            select u.id, @workspace, u.job, u.seq, u.type, u.step_id, u.payload::jsonb, u.actor, u.correlation, u.occurred_at, u.recorded_at, null
            from unnest(@jobs, @seqs, @ids, @types, @steps, @payloads, @occurred, @actors, @correlations, @nows)
                as u(job, seq, id, type, step_id, payload, occurred_at, actor, correlation, recorded_at)
            returning id, payload
        ),
        o as (
            insert into job_events.outbox (event_id, workspace_id, job_id, seq, last_seq, created_at, trace_parent)
            select o.id, @workspace, o.job, o.seq, o.last_seq, o.created_at, o.trace
            from unnest(@outbox_ids, @outbox_jobs, @outbox_seqs, @outbox_last_seqs, @outbox_created, @outbox_traces)
                as o(id, job, seq, last_seq, created_at, trace)
            order by o.job, o.seq
        ),
        l as (
            insert into job_events.event_links (workspace_id, job_id, seq, occurred_at, row_digest, prev_hash, hash, key_id)
            select @workspace, u.job, u.seq, u.occurred_at, u.row_digest, u.prev_hash, u.hash, @key_id
            from unnest(@jobs, @seqs, @occurred, @digests, @prevs, @hashes) as u(job, seq, occurred_at, row_digest, prev_hash, hash)
        )
        select job_events.check_written_ahead(
            (select count(*) from s)::integer,
            @stream_count,
            (select count(*)
             from e join unnest(@ids, @printed) as p(id, printed) on p.id = e.id
             where e.payload::text is distinct from p.printed)::integer)
        """;

    /// <summary>What <c>job_events.check_written_ahead</c> raises when jsonb printed a payload otherwise than predicted.</summary>
    private const string PayloadsPrintedOtherwise = "JT002";

    private readonly Lane[] lanes = [.. Enumerable.Range(0, Math.Max(1, options.Writers))
        .Select(_ => new Lane(new GroupQueue(options.MaxRequests, options.HelperFromEvents)))];

    private long notifies;
    private long writtenAhead;
    private long aheadRefused;
    private long helperTakes;

    /// <summary>Group commits that carried a NOTIFY for the relays of other instances.</summary>
    public long Notifies => Interlocked.Read(ref notifies);

    /// <summary>Groups written in one round trip, their chain links made before PostgreSQL answered (ADR 0046).</summary>
    public long WrittenAhead => Interlocked.Read(ref writtenAhead);

    /// <summary>Groups whose one-round-trip statement was refused (a head moved, a payload printed otherwise) and written again.</summary>
    public long AheadRefused => Interlocked.Read(ref aheadRefused);

    /// <summary>Backlogs the writers' helpers took while their writers were busy (ADR 0047).</summary>
    public long HelperTaken => Interlocked.Read(ref helperTakes);

    /// <summary>Appends waiting for the next group, on every writer.</summary>
    public int Queued => lanes.Sum(l => l.Queue.Count);

    /// <summary>Which writer appends to <paramref name="jobId"/> (for tests: two jobs on different writers).</summary>
    internal int WriterOf(Guid jobId) => (int)((uint)jobId.GetHashCode() % (uint)lanes.Length);

    /// <summary>Queues an append under the request's workspace and waits until its group committed.</summary>
    public Task<IReadOnlyList<EventRecord>> AppendAsync(Guid workspaceId, AppendRequest request, CancellationToken cancellationToken) =>
        AppendAsync(workspaceId, request, joined: null, cancellationToken);

    /// <summary>As above, with the rows the request joined to its events (its activity row), written in the same transaction.</summary>
    public Task<IReadOnlyList<EventRecord>> AppendAsync(
        Guid workspaceId, AppendRequest request, JoinedWrites? joined, CancellationToken cancellationToken)
    {
        if (joined is not null && joined.WorkspaceId != workspaceId)
        {
            throw new InvalidOperationException("A request's joined writes belong to the workspace it authenticated as.");
        }

        var pending = new PendingAppend(workspaceId, request, joined, cancellationToken);
        if (!lanes[WriterOf(request.JobId)].Queue.TryAdd(pending))
        {
            throw new InvalidOperationException("The event writer has stopped.");
        }

        return pending.Answer;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // A writer that fails stops the others, and the failure stops the host, as it did with one writer:
        // appends must never queue for a writer that no longer runs.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        await Task.WhenAll(lanes.SelectMany(lane => Enumerable.Range(0, lane.Queue.Writers).Select(writer => Task.Run(
            async () =>
            {
                try
                {
                    await RunAsync(lane, writer, stop.Token);
                }
                catch
                {
                    await stop.CancelAsync();
                    throw;
                }
            },
            CancellationToken.None))));
    }

    private async Task RunAsync(Lane lane, int writer, CancellationToken stoppingToken)
    {
        var connection = lane.Connections[writer];
        var taken = new List<PendingAppend>(options.MaxRequests);

        // Stopping completes the queue, which ends a writer's wait for appends.
        await using var stopping = stoppingToken.Register(() => lane.Queue.Complete(new OperationCanceledException("The service is stopping.")));
        try
        {
            while (await lane.Queue.TakeAsync(writer, taken))
            {
                if (writer == GroupQueue.Helper)
                {
                    Interlocked.Increment(ref helperTakes);
                    HelperTakes.Add(1);
                }

                try
                {
                    // One transaction per workspace: the tenant setting of each is the one its requests authenticated as.
                    foreach (var group in taken.GroupBy(p => p.WorkspaceId))
                    {
                        await WriteIsolatedAsync(connection, group.ToList(), stoppingToken);
                    }
                }
                finally
                {
                    // Every request taken is answered by now, unless something threw past the group's own handling:
                    // fail what is left so that no request waits for ever.
                    foreach (var pending in taken)
                    {
                        if (!pending.Answer.IsCompleted)
                        {
                            pending.Fail(new InvalidOperationException("The event writer failed before this append was written."));
                        }
                    }

                    // The jobs are free for the lane's other writer.
                    lane.Queue.Release(writer, taken);
                    taken.Clear();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: whatever is still queued is refused below.
        }
        finally
        {
            // No append is left waiting on a writer that has stopped, whatever stopped it; new ones are refused.
            lane.Queue.Complete(new OperationCanceledException("The service is stopping."));
        }
    }

    /// <summary>Writes a group; if PostgreSQL refuses it (nothing committed), writes each request alone.</summary>
    private async Task WriteIsolatedAsync(WriterConnection lane, List<PendingAppend> group, CancellationToken stoppingToken)
    {
        try
        {
            await WriteGroupAsync(lane, group, stoppingToken);
        }
        catch (PostgresException ex) when (group.Count > 1)
        {
            logger.LogDebug(ex, "A group of {Count} appends was refused; writing each alone", group.Count);
            foreach (var pending in group)
            {
                await WriteIsolatedAsync(lane, [pending], stoppingToken);
            }
        }
        catch (Exception ex)
        {
            if (ex is not PostgresException)
            {
                // The connection may be broken: the next group opens a new one.
                await lane.DropConnectionAsync();
            }

            foreach (var pending in group)
            {
                pending.Fail(ex);
            }
        }
    }

    public override void Dispose()
    {
        foreach (var connection in lanes.SelectMany(l => l.Connections))
        {
            connection.Connection?.Dispose();
        }

        base.Dispose();
    }

    private async Task WriteGroupAsync(WriterConnection lane, List<PendingAppend> group, CancellationToken stoppingToken)
    {
        var db = await lane.ConnectionAsync(database, stoppingToken);
        StoredEvents[] results;
        try
        {
            results = await WriteAndCommitAsync(db, group, stoppingToken);
        }
        catch (Exception)
        {
            // Whatever of the group PostgreSQL kept or refused, the next group reads these heads again.
            foreach (var pending in group)
            {
                streamHeads.Forget(pending.WorkspaceId, pending.Request.JobId);
            }

            if (db.State != System.Data.ConnectionState.Open)
            {
                throw;
            }

            // The BEGIN and COMMIT are statements of the group's batches, not an NpgsqlTransaction: a failed
            // group leaves its transaction open (aborted) on this connection until it is rolled back here.
            await RollBackQuietlyAsync(lane, db);
            throw;
        }

        for (var i = 0; i < group.Count; i++)
        {
            if (results[i].Count > 0)
            {
                group[i].Joined?.MarkCommitted();
            }
        }

        GroupSize.Record(group.Count);
        if (results.Any(r => r.Count > 0))
        {
            relayWakeup.Signal();
            DeliverLocally(group, results);
        }

        foreach (var hook in services.GetServices<IGroupCommitHook>())
        {
            hook.AfterCommit(group);
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Complete(results[i]);
        }
    }

    /// <summary>
    /// Hands what was just committed to this instance's own streams, before the requests are answered (so a
    /// client that waits for its 201 finds its event already on the way to a stream here). Nothing may fail the
    /// group from here on: it is committed, and a failed group would be written again.
    /// </summary>
    private void DeliverLocally(List<PendingAppend> group, StoredEvents[] results)
    {
        try
        {
            for (var i = 0; i < group.Count; i++)
            {
                hub.DeliverCommitted(results[i], group[i].Request.TraceParent);
            }
        }
        catch (Exception ex)
        {
            // The relay delivers them anyway; only the head start is lost.
            logger.LogWarning(ex, "Could not hand a committed group to this instance's streams; the relay delivers it");
        }
    }

    /// <summary>
    /// One round trip when the writer knows every head of a keyless group (ADR 0046): see <see cref="WriteAheadAsync"/>.
    /// Otherwise, or when PostgreSQL refuses that, two: BEGIN, the workspace setting and the appends (one statement for a
    /// group without Idempotency-Keys, one per request otherwise); then every chain link, the stream heads, the joined
    /// rows, the NOTIFY and the COMMIT. The COMMIT answers only once it is durable.
    /// </summary>
    private async Task<StoredEvents[]> WriteAndCommitAsync(NpgsqlConnection db, List<PendingAppend> group, CancellationToken stoppingToken)
    {
        var rollBackFirst = false;
        if (HeadsAhead(group) is { } known)
        {
            try
            {
                return await WriteAheadAsync(db, group, known, stoppingToken);
            }
            catch (PostgresException ex) when (!DatabaseFailure.IsUnreachable(ex))
            {
                // A head moved (a system event, another instance, a seal), or a payload printed otherwise: nothing of the
                // group was kept. (A server going away is not a refusal: it fails the group as on the reading way, 503.) Its transaction is rolled back by the first statement of the way that reads the heads.
                Interlocked.Increment(ref aheadRefused);
                RefusedAheadGroups.Add(1);
                if (ex.SqlState == PayloadsPrintedOtherwise)
                {
                    // Not a race: the prediction of jsonb's text is wrong for some payload (a PostgreSQL that prints otherwise).
                    logger.LogWarning(ex, "jsonb printed a payload otherwise than predicted; the group is written after reading it back");
                }
                else
                {
                    logger.LogDebug(ex, "A group of {Count} appends written ahead was refused; writing it after reading its heads", group.Count);
                }

                var now = Environment.TickCount64;
                foreach (var pending in group)
                {
                    streamHeads.Moved(pending.Request.JobId, now);
                }

                rollBackFirst = true;
            }
        }

        var workspace = group[0].WorkspaceId;
        var results = new StoredEvents[group.Count];
        var firstPrev = new Dictionary<Guid, byte[]?>();
        if (group.Count > 1 && group.All(p => p.Request.IdempotencyKey is null))
        {
            await AppendGroupWithoutKeysAsync(db, workspace, group, results, firstPrev, rollBackFirst, stoppingToken);
        }
        else
        {
            await AppendEachAsync(db, workspace, group, results, firstPrev, rollBackFirst, stoppingToken);
        }

        var links = new List<(Guid Job, ChainLink Link)>();
        var heads = new Dictionary<Guid, ChainHead>();
        foreach (var stored in results)
        {
            foreach (var e in stored)
            {
                var prev = heads.TryGetValue(e.JobId, out var head) ? head.Hash : firstPrev[e.JobId];
                var link = ChainFormat.Link(keys, ChainKind.Events, e.WorkspaceId, e.JobId, e.Seq, e.OccurredAt, ChainFormat.Digest(e), prev);
                links.Add((e.JobId, link));
                heads[e.JobId] = new ChainHead(e.Seq, link.Hash);
            }
        }

        await using var finish = new NpgsqlBatch(db);
        if (links.Count > 0)
        {
            finish.BatchCommands.Add(LinksCommand(workspace, links));
            finish.BatchCommands.Add(HeadsCommand(workspace, heads));
        }

        await FinishAsync(finish, group, results, stoppingToken);
        RememberHeads(group, heads);
        return results;
    }

    /// <summary>
    /// The heads a keyless group starts from, when this writer knows every one of them and what jsonb prints for every
    /// payload; null sends the group the way that reads them. Keyed requests keep that way: their key row must not be
    /// written for an append that writes nothing, which the per-request statement sees and this one would not.
    /// </summary>
    private Dictionary<Guid, ChainHead>? HeadsAhead(List<PendingAppend> group)
    {
        var known = new Dictionary<Guid, ChainHead>();
        var now = Environment.TickCount64;
        foreach (var pending in group)
        {
            var request = pending.Request;
            if (request.IdempotencyKey is not null || request.CreateStream || request.Seal || !Plain(request.ActorId) || !Plain(request.CorrelationId))
            {
                return null;
            }

            if (!known.ContainsKey(request.JobId))
            {
                if (!streamHeads.TryGetAhead(pending.WorkspaceId, request.JobId, now, out var head))
                {
                    return null;
                }

                known[request.JobId] = head;
            }

            foreach (var e in request.Events)
            {
                if (e.PayloadJson is not null && e.PrintedJson is null)
                {
                    return null;
                }
            }
        }

        return known;
    }

    /// <summary>
    /// Text PostgreSQL stores exactly as sent, so that the digest made from what was sent is the digest of what is
    /// stored (no NUL, which it refuses, and no surrogate, the one place an encoder could substitute).
    /// </summary>
    private static bool Plain(string text)
    {
        foreach (var c in text)
        {
            if (c == '\0' || char.IsSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The group in one round trip (ADR 0046): its events as they will be stored (seq after each known head, payloads as
    /// jsonb prints them), their chain links made here, then BEGIN, the workspace setting, <see cref="AppendAheadSql"/>,
    /// the joined rows, the NOTIFY and the COMMIT pipelined. The statement checks the heads and the printed payloads
    /// and refuses the whole group if one is not as expected, which skips the COMMIT.
    /// </summary>
    private async Task<StoredEvents[]> WriteAheadAsync(
        NpgsqlConnection db, List<PendingAppend> group, Dictionary<Guid, ChainHead> known, CancellationToken stoppingToken)
    {
        var workspace = group[0].WorkspaceId;
        var results = new StoredEvents[group.Count];
        var heads = new Dictionary<Guid, ChainHead>(known);
        var count = group.Sum(p => p.Request.Events.Count);
        var jobs = new Guid[count];
        var seqs = new long[count];
        var ids = new Guid[count];
        var types = new string[count];
        var steps = new Guid?[count];
        var payloads = new string?[count];
        var printed = new string?[count];
        var occurred = new DateTime[count];
        var actors = new string[count];
        var correlations = new string[count];
        var nows = new DateTime[count];
        var digests = new byte[count][];
        var prevs = new byte[]?[count];
        var hashes = new byte[count][];
        var outbox = new List<(Guid Id, Guid Job, long Seq, long LastSeq, DateTime Created, string? Trace)>(group.Count);
        var keyId = keys.Current.Id;
        var n = 0;
        for (var i = 0; i < group.Count; i++)
        {
            var request = group[i].Request;
            var head = heads[request.JobId];
            var stored = new StoredEvents(request.Events.Count);
            foreach (var e in request.Events)
            {
                var record = new EventRecord(
                    e.Id, workspace, request.JobId, head.Seq + 1, e.Type, e.StepId, e.PrintedJson, request.ActorId, request.CorrelationId,
                    e.OccurredAt ?? request.Now, request.Now);
                var link = ChainFormat.Link(keys, ChainKind.Events, workspace, request.JobId, record.Seq, record.OccurredAt, ChainFormat.Digest(record), head.Hash);
                keyId = link.KeyId;
                stored.Add(record);
                jobs[n] = request.JobId;
                seqs[n] = record.Seq;
                ids[n] = e.Id;
                types[n] = e.Type;
                steps[n] = e.StepId;
                payloads[n] = e.PayloadJson;
                printed[n] = e.PrintedJson;
                occurred[n] = record.OccurredAt;
                actors[n] = request.ActorId;
                correlations[n] = request.CorrelationId;
                nows[n] = request.Now;
                digests[n] = link.RowDigest;
                prevs[n] = link.PrevHash;
                hashes[n] = link.Hash;
                n++;
                head = new ChainHead(record.Seq, link.Hash);
            }

            heads[request.JobId] = head;
            outbox.Add((request.Events[0].Id, request.JobId, stored[0].Seq, head.Seq, request.Now, request.TraceParent));
            results[i] = stored;
        }

        // Streams in job id order, as the way that reads the heads locks them.
        var streams = known.OrderBy(t => t.Key).ToArray();
        var append = new NpgsqlBatchCommand(AppendAheadSql);
        var p = append.Parameters;
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = workspace });
        p.Add(new NpgsqlParameter("stream_count", NpgsqlDbType.Integer) { Value = streams.Length });
        p.Add(new NpgsqlParameter("stream_jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = streams.Select(t => t.Key).ToArray() });
        p.Add(new NpgsqlParameter("stream_seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = streams.Select(t => t.Value.Seq).ToArray() });
        p.Add(new NpgsqlParameter("stream_hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = streams.Select(t => t.Value.Hash).ToArray() });
        p.Add(new NpgsqlParameter("stream_last_seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = streams.Select(t => heads[t.Key].Seq).ToArray() });
        p.Add(new NpgsqlParameter("stream_last_hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = streams.Select(t => heads[t.Key].Hash).ToArray() });
        p.Add(new NpgsqlParameter("jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = jobs });
        p.Add(new NpgsqlParameter("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = seqs });
        p.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids });
        p.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = types });
        p.Add(new NpgsqlParameter("steps", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = steps });
        p.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
        p.Add(new NpgsqlParameter("printed", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = printed });
        p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = occurred });
        p.Add(new NpgsqlParameter("actors", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = actors });
        p.Add(new NpgsqlParameter("correlations", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = correlations });
        p.Add(new NpgsqlParameter("nows", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = nows });
        p.Add(new NpgsqlParameter("digests", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = digests });
        p.Add(new NpgsqlParameter("prevs", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = prevs });
        p.Add(new NpgsqlParameter("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = hashes });
        p.Add(new NpgsqlParameter("key_id", NpgsqlDbType.Text) { Value = keyId });
        p.Add(new NpgsqlParameter("outbox_ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = outbox.Select(o => o.Id).ToArray() });
        p.Add(new NpgsqlParameter("outbox_jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = outbox.Select(o => o.Job).ToArray() });
        p.Add(new NpgsqlParameter("outbox_seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = outbox.Select(o => o.Seq).ToArray() });
        p.Add(new NpgsqlParameter("outbox_last_seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = outbox.Select(o => o.LastSeq).ToArray() });
        p.Add(new NpgsqlParameter("outbox_created", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = outbox.Select(o => o.Created).ToArray() });
        p.Add(new NpgsqlParameter("outbox_traces", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = outbox.Select(o => o.Trace).ToArray() });

        await using var batch = new NpgsqlBatch(db);
        batch.BatchCommands.Add(new NpgsqlBatchCommand("begin isolation level read committed"));
        batch.BatchCommands.Add(WorkspaceSetting.Command(workspace));
        batch.BatchCommands.Add(append);
        await FinishAsync(batch, group, results, stoppingToken);
        Interlocked.Increment(ref writtenAhead);
        AheadGroups.Add(1);
        RememberHeads(group, heads);
        return results;
    }

    /// <summary>
    /// Adds the requests' joined rows (for those whose events were written), the NOTIFY when another instance may
    /// relay some of these jobs, and the COMMIT to <paramref name="batch"/>, and sends it.
    /// </summary>
    private async Task FinishAsync(NpgsqlBatch batch, List<PendingAppend> group, StoredEvents[] results, CancellationToken stoppingToken)
    {
        var notified = false;
        if (results.Any(r => r.Count > 0))
        {
            // The requests' joined rows (activity), under the same workspace setting, for those whose events were written.
            for (var i = 0; i < group.Count; i++)
            {
                if (results[i].Count > 0 && group[i].Joined is { } joined)
                {
                    foreach (var statement in joined.Statements)
                    {
                        batch.BatchCommands.Add(statement());
                    }
                }
            }

            // Only when another instance may relay some of these jobs: a NOTIFY costs the commit a cluster-wide lock and
            // wakes every listening session, this instance's own relay (already woken in-process) included.
            if (options.NotifyOtherInstances && !relayState.RelaysEveryPartition)
            {
                notified = true;
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"select pg_notify('{EventLog.Channel}', '')"));
            }
        }

        // In the same batch: after an error PostgreSQL skips the rest up to the batch's end, so this COMMIT
        // runs only when every statement before it succeeded.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));

        // Handed to the relay before the COMMIT is sent, so that it is there by the time the relay can claim the
        // outbox rows. If the group fails instead, no committed outbox row points at these (a request written
        // again alone replaces its entries, and the relay checks job, workspace and seq against the row).
        committed.Add(results);
        await batch.ExecuteNonQueryAsync(stoppingToken);
        if (notified)
        {
            Interlocked.Increment(ref notifies);
        }
    }

    /// <summary>After a COMMIT: the heads the group left, for the next group; a job whose append wrote nothing is forgotten.</summary>
    private void RememberHeads(List<PendingAppend> group, Dictionary<Guid, ChainHead> heads)
    {
        foreach (var pending in group)
        {
            if (heads.TryGetValue(pending.Request.JobId, out var head))
            {
                streamHeads.Set(pending.WorkspaceId, pending.Request.JobId, head);
            }
            else
            {
                streamHeads.Forget(pending.WorkspaceId, pending.Request.JobId);
            }
        }
    }

    /// <summary>BEGIN, the workspace setting and one append statement per request, pipelined in one round trip.</summary>
    private static async Task AppendEachAsync(
        NpgsqlConnection db, Guid workspace, List<PendingAppend> group, StoredEvents[] results, Dictionary<Guid, byte[]?> firstPrev,
        bool rollBackFirst, CancellationToken stoppingToken)
    {
        await using var appends = new NpgsqlBatch(db);
        AddRollBack(appends, rollBackFirst);
        appends.BatchCommands.Add(new NpgsqlBatchCommand("begin isolation level read committed"));
        appends.BatchCommands.Add(WorkspaceSetting.Command(workspace));
        foreach (var pending in group)
        {
            appends.BatchCommands.Add(AppendCommand(workspace, pending.Request));
        }

        await using var reader = await appends.ExecuteReaderAsync(stoppingToken);
        // The reader opens on the setting's result (Npgsql yields no result for the BEGIN, which returns no rows).
        for (var i = 0; i < group.Count; i++)
        {
            await reader.NextResultAsync(stoppingToken);
            var stored = new StoredEvents(group[i].Request.Events.Count);
            while (await reader.ReadAsync(stoppingToken))
            {
                stored.Add(EventRows.Read(reader));
                // The head as the job's first append of this group found it; later ones chain on in memory.
                firstPrev.TryAdd(group[i].Request.JobId, reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11));
            }

            results[i] = stored;
        }
    }

    /// <summary>
    /// BEGIN, the workspace setting and <see cref="AppendGroupWithoutKeysSql"/> in one round trip; its rows are
    /// handed back to their requests by event id, each request's in seq order.
    /// </summary>
    private static async Task AppendGroupWithoutKeysAsync(
        NpgsqlConnection db, Guid workspace, List<PendingAppend> group, StoredEvents[] results, Dictionary<Guid, byte[]?> firstPrev,
        bool rollBackFirst, CancellationToken stoppingToken)
    {
        var owner = new Dictionary<Guid, int>();
        var totals = new Dictionary<Guid, long>();
        var count = group.Sum(p => p.Request.Events.Count);
        var jobs = new Guid[count];
        var offsets = new long[count];
        var ids = new Guid[count];
        var heads = new Guid[count];
        var types = new string[count];
        var steps = new Guid?[count];
        var payloads = new string?[count];
        var occurred = new DateTime?[count];
        var actors = new string[count];
        var correlations = new string[count];
        var nows = new DateTime[count];
        var traces = new string?[count];
        var n = 0;
        for (var i = 0; i < group.Count; i++)
        {
            var request = group[i].Request;
            results[i] = new StoredEvents(request.Events.Count);
            foreach (var e in request.Events)
            {
                // The place of this event among its job's events in the group, in arrival order.
                var offset = totals[request.JobId] = totals.GetValueOrDefault(request.JobId) + 1;
                owner[e.Id] = i;
                jobs[n] = request.JobId;
                offsets[n] = offset;
                ids[n] = e.Id;
                heads[n] = request.Events[0].Id;
                types[n] = e.Type;
                steps[n] = e.StepId;
                payloads[n] = e.PayloadJson;
                occurred[n] = e.OccurredAt;
                actors[n] = request.ActorId;
                correlations[n] = request.CorrelationId;
                nows[n] = request.Now;
                traces[n] = request.TraceParent;
                n++;
            }
        }

        // Streams in job id order (the order a nested-loop plan locks their rows in), so that groups of two instances that
        // share jobs tend to lock them in one order (a deadlock is still safe: the group is written again alone).
        var streams = totals.OrderBy(t => t.Key).ToArray();
        var append = new NpgsqlBatchCommand(AppendGroupWithoutKeysSql);
        var p = append.Parameters;
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = workspace });
        p.Add(new NpgsqlParameter("stream_jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = streams.Select(t => t.Key).ToArray() });
        p.Add(new NpgsqlParameter("stream_totals", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = streams.Select(t => t.Value).ToArray() });
        p.Add(new NpgsqlParameter("jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = jobs });
        p.Add(new NpgsqlParameter("offsets", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = offsets });
        p.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids });
        p.Add(new NpgsqlParameter("heads", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = heads });
        p.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = types });
        p.Add(new NpgsqlParameter("steps", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = steps });
        p.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
        p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = occurred });
        p.Add(new NpgsqlParameter("actors", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = actors });
        p.Add(new NpgsqlParameter("correlations", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = correlations });
        p.Add(new NpgsqlParameter("nows", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = nows });
        p.Add(new NpgsqlParameter("traces", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = traces });

        await using var appends = new NpgsqlBatch(db);
        AddRollBack(appends, rollBackFirst);
        appends.BatchCommands.Add(new NpgsqlBatchCommand("begin isolation level read committed"));
        appends.BatchCommands.Add(WorkspaceSetting.Command(workspace));
        appends.BatchCommands.Add(append);
        await using var reader = await appends.ExecuteReaderAsync(stoppingToken);
        await reader.NextResultAsync(stoppingToken);
        while (await reader.ReadAsync(stoppingToken))
        {
            var stored = EventRows.Read(reader);
            results[owner[stored.Id]].Add(stored);
            firstPrev.TryAdd(stored.JobId, reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11));
        }

        foreach (var stored in results)
        {
            stored.Sort((a, b) => a.Seq.CompareTo(b.Seq));
        }
    }

    /// <summary>The transaction a refused group written ahead left open (aborted) ends with the next batch's first statement.</summary>
    private static void AddRollBack(NpgsqlBatch batch, bool rollBackFirst)
    {
        if (rollBackFirst)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("rollback"));
        }
    }

    private async Task RollBackQuietlyAsync(WriterConnection lane, NpgsqlConnection db)
    {
        try
        {
            await using var rollback = new NpgsqlCommand("rollback", db);
            await rollback.ExecuteNonQueryAsync(CancellationToken.None);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
        {
            // The connection cannot roll back: it is broken, and the next group opens a new one.
            logger.LogDebug(ex, "Rolling back a failed group did not succeed; dropping the connection");
            await lane.DropConnectionAsync();
        }
    }

    private static NpgsqlBatchCommand AppendCommand(Guid workspace, AppendRequest request)
    {
        var events = request.Events;
        var keyed = request.IdempotencyKey is not null;
        var command = new NpgsqlBatchCommand(keyed ? AppendSql : AppendWithoutKeySql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("job", NpgsqlDbType.Uuid) { Value = request.JobId });
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = workspace });
        p.Add(new NpgsqlParameter("count", NpgsqlDbType.Bigint) { Value = (long)events.Count });
        p.Add(new NpgsqlParameter("now", NpgsqlDbType.TimestampTz) { Value = request.Now });
        p.Add(new NpgsqlParameter("key", NpgsqlDbType.Text) { Value = (object?)request.IdempotencyKey ?? DBNull.Value });
        if (keyed)
        {
            p.Add(new NpgsqlParameter("hash", NpgsqlDbType.Bytea) { Value = (object?)request.RequestHash ?? DBNull.Value });
        }

        p.Add(new NpgsqlParameter("actor", NpgsqlDbType.Text) { Value = request.ActorId });
        p.Add(new NpgsqlParameter("correlation", NpgsqlDbType.Text) { Value = request.CorrelationId });
        // The emit's trace travels with its outbox rows, so the relay and the SSE write link back to the request.
        p.Add(new NpgsqlParameter("trace", NpgsqlDbType.Text) { Value = (object?)request.TraceParent ?? DBNull.Value });
        p.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.Id).ToArray() });
        p.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.Type).ToArray() });
        p.Add(new NpgsqlParameter("steps", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = events.Select(e => e.StepId).ToArray() });
        p.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = events.Select(e => e.PayloadJson).ToArray() });
        p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = events.Select(e => e.OccurredAt).ToArray() });
        return command;
    }

    private static NpgsqlBatchCommand LinksCommand(Guid workspace, List<(Guid Job, ChainLink Link)> links)
    {
        var command = new NpgsqlBatchCommand(LinksSql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = workspace });
        p.Add(new NpgsqlParameter("key_id", NpgsqlDbType.Text) { Value = links[0].Link.KeyId });
        p.Add(new NpgsqlParameter("jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = links.Select(l => l.Job).ToArray() });
        p.Add(new NpgsqlParameter("seqs", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = links.Select(l => l.Link.Seq).ToArray() });
        p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = links.Select(l => l.Link.OccurredAt).ToArray() });
        p.Add(new NpgsqlParameter("digests", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = links.Select(l => l.Link.RowDigest).ToArray() });
        p.Add(new NpgsqlParameter("prevs", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = links.Select(l => l.Link.PrevHash).ToArray() });
        p.Add(new NpgsqlParameter("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = links.Select(l => l.Link.Hash).ToArray() });
        return command;
    }

    private static NpgsqlBatchCommand HeadsCommand(Guid workspace, Dictionary<Guid, ChainHead> heads)
    {
        var command = new NpgsqlBatchCommand(HeadsSql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = workspace });
        p.Add(new NpgsqlParameter("jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = heads.Keys.ToArray() });
        p.Add(new NpgsqlParameter("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = heads.Values.Select(h => h.Hash).ToArray() });
        return command;
    }

    /// <summary>One writer: its queue, taken by its main loop and its helper, each with a connection of its own.</summary>
    private sealed class Lane(GroupQueue queue)
    {
        public GroupQueue Queue { get; } = queue;

        public WriterConnection[] Connections { get; } = [.. Enumerable.Range(0, queue.Writers).Select(_ => new WriterConnection())];
    }

    /// <summary>A writer loop's own connection, outside the request pool (the requests waiting for it hold pooled
    /// connections, and it must never wait for one of them).</summary>
    private sealed class WriterConnection
    {
        public NpgsqlConnection? Connection { get; private set; }

        public async Task<NpgsqlConnection> ConnectionAsync(DatabaseOptions database, CancellationToken cancellationToken)
        {
            if (Connection is { State: System.Data.ConnectionState.Open })
            {
                return Connection;
            }

            await DropConnectionAsync();
            var unpooled = new NpgsqlConnectionStringBuilder(database.ServiceConnectionString) { Pooling = false };
            var opened = new NpgsqlConnection(unpooled.ConnectionString);
            await opened.OpenAsync(cancellationToken);
            Connection = opened;
            return opened;
        }

        public async Task DropConnectionAsync()
        {
            if (Connection is not null)
            {
                await Connection.DisposeAsync();
                Connection = null;
            }
        }
    }
}
