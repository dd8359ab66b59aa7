using System.Diagnostics.Metrics;
using System.Threading.Channels;
using JobTrail.BuildingBlocks.Behaviors;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.Hosting;
using NpgsqlTypes;

namespace JobTrail.Modules.JobEvents.Persistence;

/// <summary>Settings under <c>JobTrail:Events:GroupCommit</c>.</summary>
internal sealed record GroupCommitOptions
{
    /// <summary>The most client appends one transaction takes; what is queued beyond waits for the next.</summary>
    public int MaxRequests { get; init; } = 256;

    /// <summary>One NOTIFY per group commit, for a relay that is active on another instance.</summary>
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
/// A seam for fault tests: runs before a group's COMMIT is sent, and after it committed and before its
/// requests are answered. Not registered in production.
/// </summary>
internal interface IGroupCommitHook
{
    /// <summary>After the group's appends ran and before the next group is taken to travel with its COMMIT.</summary>
    void BeforeFinish(IReadOnlyList<PendingAppend> group)
    {
    }

    void AfterCommit(IReadOnlyList<PendingAppend> group);
}

/// <summary>
/// Group commit for client emits and batches. Requests queue their append; one loop takes whatever is
/// queued (a lone request at once, with no wait for company), writes each workspace's share in one
/// transaction of its own connection (BEGIN, set_config to that workspace and the appends in one round
/// trip; then every chain link, stream head and the COMMIT in a second), and only then answers the
/// requests. Under load the two halves overlap: the next group's BEGIN and appends travel in the same
/// round trip as this group's COMMIT, after it, so a group costs one round trip. Appends that cannot
/// write (missing or sealed stream, a used Idempotency-Key) write nothing, not even their key row, and
/// are explained by the request itself. If PostgreSQL refuses a group, each request is written again
/// alone, so one bad request never fails its neighbours.
/// </summary>
internal sealed class GroupCommitWriter(
    DatabaseOptions database,
    IntegrityKeyRing keys,
    GroupCommitOptions options,
    RelayWakeup relayWakeup,
    CommittedEvents committed,
    IServiceProvider services,
    ILogger<GroupCommitWriter> logger) : BackgroundService
{
    private static readonly Meter Meter = new(PipelineMetrics.MeterName);
    private static readonly Histogram<int> GroupSize = Meter.CreateHistogram<int>(
        "jobtrail.group_commit.size", unit: "{request}", description: "Client appends committed together in one transaction");

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
    // the outbox rows in (job, seq) order. A job with no open stream here advances nothing and so gets no events:
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
            from unnest(@jobs, @offsets, @ids, @types, @steps, @payloads, @occurred, @actors, @correlations, @nows, @traces)
                as u(job, place, id, type, step_id, payload, occurred_at, actor, correlation, recorded_at, trace)
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
            insert into job_events.outbox (event_id, workspace_id, job_id, seq, created_at, trace_parent)
            select e.id, e.workspace_id, e.job_id, e.seq, e.recorded_at, u.trace from e join u on u.id = e.id
            order by e.job_id, e.seq
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

    // Its own connection, outside the request pool: the requests waiting for this writer hold pooled
    // connections, and the writer must never wait for one of them.
    private NpgsqlConnection? connection;

    private readonly Channel<PendingAppend> queue = Channel.CreateUnbounded<PendingAppend>(
        new UnboundedChannelOptions { AllowSynchronousContinuations = false });

    private IGroupCommitHook[] hooks = [];

    // Taken from the queue and split by workspace, not yet begun.
    private readonly Queue<List<PendingAppend>> ready = new();

    /// <summary>Appends waiting for the next group.</summary>
    public int Queued => queue.Reader.Count;

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
        if (!queue.Writer.TryWrite(pending))
        {
            throw new InvalidOperationException("The event writer has stopped.");
        }

        return pending.Answer;
    }

    /// <summary>
    /// One group is open at a time (its appends ran, its transaction waits for its links and COMMIT). When nothing is
    /// open, the next group is begun alone, at once. While one is open, whatever is queued by the time its links are
    /// ready is begun in the same round trip as its COMMIT (PostgreSQL runs them in order on the one connection, so the
    /// next group's appends see this group's streams as committed), and becomes the open group once this one is answered.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        hooks = [.. services.GetServices<IGroupCommitHook>()];
        OpenGroup? open = null;
        List<PendingAppend>? waiting = null;
        try
        {
            while (true)
            {
                if (open is null)
                {
                    waiting ??= await TakeAsync(stoppingToken);
                    open = await BeginAloneAsync(waiting, stoppingToken);
                    waiting = null;
                    continue;
                }

                foreach (var hook in hooks)
                {
                    hook.BeforeFinish(open.Group);
                }

                var finished = await FinishAsync(open, TakeNow(), stoppingToken);
                open = finished.Open;
                waiting = finished.Waiting;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: whatever is not committed is refused below.
        }

        // An open group's transaction ends with the connection.
        await DropConnectionAsync();
        queue.Writer.TryComplete();
        var stopping = new OperationCanceledException("The service is stopping.");
        Fail(open?.Group, stopping);
        Fail(waiting, stopping);
        while (ready.TryDequeue(out var group))
        {
            Fail(group, stopping);
        }

        while (queue.Reader.TryRead(out var left))
        {
            left.Fail(stopping);
        }
    }

    /// <summary>The next workspace's share of what is queued, or null when nothing is.</summary>
    private List<PendingAppend>? TakeNow()
    {
        if (ready.Count == 0)
        {
            var taken = new List<PendingAppend>();
            while (taken.Count < options.MaxRequests && queue.Reader.TryRead(out var pending))
            {
                if (pending.CancellationToken.IsCancellationRequested)
                {
                    pending.Cancel();
                    continue;
                }

                taken.Add(pending);
            }

            // One transaction per workspace: the tenant setting of each is the one its requests authenticated as.
            foreach (var group in taken.GroupBy(p => p.WorkspaceId))
            {
                ready.Enqueue(group.ToList());
            }
        }

        return ready.TryDequeue(out var next) ? next : null;
    }

    private async Task<List<PendingAppend>> TakeAsync(CancellationToken stoppingToken)
    {
        while (true)
        {
            if (TakeNow() is { } group)
            {
                return group;
            }

            if (!await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                throw new OperationCanceledException("The event writer has stopped.");
            }
        }
    }

    /// <summary>BEGIN, the workspace setting and the group's appends in one round trip; null if the group was refused (and handled).</summary>
    private async Task<OpenGroup?> BeginAloneAsync(List<PendingAppend> group, CancellationToken stoppingToken)
    {
        var appends = new OpenGroup(group);
        try
        {
            var db = await ConnectionAsync(stoppingToken);
            await using var batch = new NpgsqlBatch(db);
            appends.AddAppends(batch);
            await using var reader = await batch.ExecuteReaderAsync(stoppingToken);
            await appends.ReadAppendsAsync(reader, stoppingToken);
            return appends;
        }
        catch (Exception ex)
        {
            await EndFailedTransactionAsync(ex);
            await RefuseAsync(group, ex, stoppingToken);
            return null;
        }
    }

    /// <summary>
    /// The open group's links, stream heads, joined rows, NOTIFY and COMMIT, followed in the same round trip by BEGIN and
    /// the appends of <paramref name="next"/> when there is one. Returns the group now open (the next one, if its appends
    /// ran) and a group still to begin (the next one, if it did not run).
    /// </summary>
    private async Task<(OpenGroup? Open, List<PendingAppend>? Waiting)> FinishAsync(
        OpenGroup open, List<PendingAppend>? next, CancellationToken stoppingToken)
    {
        var begun = next is null ? null : new OpenGroup(next);
        var nextRan = false;
        await using var batch = new NpgsqlBatch(connection);
        try
        {
            AddFinish(batch, open);
            begun?.AddAppends(batch);

            // Handed to the relay before the COMMIT is sent, so that it is there by the time the relay can claim the
            // outbox rows. If the group fails instead, no committed outbox row points at these (a request written
            // again alone replaces its entries, and the relay checks job, workspace and seq against the row).
            committed.Add(open.Results);
            if (begun is null)
            {
                await batch.ExecuteNonQueryAsync(stoppingToken);
            }
            else
            {
                await using var reader = await batch.ExecuteReaderAsync(stoppingToken);
                // The reader is on the next group's workspace setting: every statement before it, the COMMIT included, ran.
                nextRan = true;
                await begun.ReadAppendsAsync(reader, stoppingToken);
            }
        }
        catch (PostgresException ex)
        {
            // PostgreSQL skipped the rest of the batch after the failed statement and answered for all of it.
            await EndFailedTransactionAsync(ex);
            bool? committedOpen = nextRan ? true : begun is null ? false : await CommittedAsync(open, stoppingToken);
            if (committedOpen is null)
            {
                Fail(open.Group, ex);
                return (null, next);
            }

            if (committedOpen.Value)
            {
                // The open group committed; the next one's statements were refused.
                await AnswerAsync(open);
                await RefuseAsync(next!, ex, stoppingToken);
                return (null, null);
            }

            // The open group was refused before its COMMIT; the next one never ran.
            await RefuseAsync(open.Group, ex, stoppingToken);
            return (null, next);
        }
        catch (Exception ex)
        {
            // The connection failed mid-batch: whether the open group's COMMIT ran is unknown, so its requests fail as they
            // would on any lost connection. The next group's COMMIT was never sent, so it is begun again (on a new
            // connection, if the database is there).
            logger.LogDebug(ex, "Finishing a group of {Count} appends failed", open.Group.Count);
            await DropConnectionAsync();
            Fail(open.Group, ex);
            return (null, next);
        }

        if (!await AnswerAsync(open))
        {
            // Answering failed after the commit; the connection (and the next group's transaction on it) is gone.
            return (null, next);
        }

        return (begun, null);
    }

    /// <summary>
    /// Whether a group committed, asked after PostgreSQL refused a statement of the round trip that carried its COMMIT and
    /// the next group's BEGIN (both before the next group's first result): is its first event stored? Null if that cannot
    /// be told. A group that wrote no event wrote nothing, and is answered as committed (its requests are refusals either way).
    /// </summary>
    private async Task<bool?> CommittedAsync(OpenGroup open, CancellationToken stoppingToken)
    {
        if (open.Results.SelectMany(r => r).FirstOrDefault() is not { } first)
        {
            return true;
        }

        try
        {
            var db = await ConnectionAsync(stoppingToken);
            await using var probe = new NpgsqlBatch(db)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand("begin read only"),
                    WorkspaceSetting.Command(first.WorkspaceId),
                    Sql.Statement(
                        "select exists (select from job_events.events where workspace_id = $1 and id = $2 and recorded_at = $3)",
                        first.WorkspaceId, first.Id, first.RecordedAt),
                    new NpgsqlBatchCommand("commit"),
                },
            };
            await using var reader = await probe.ExecuteReaderAsync(stoppingToken);
            await reader.NextResultAsync(stoppingToken);
            await reader.ReadAsync(stoppingToken);
            return reader.GetBoolean(0);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            logger.LogDebug(ex, "Whether a refused round trip committed its group could not be read");
            await DropConnectionAsync();
            return null;
        }
    }

    /// <summary>A group PostgreSQL refused (nothing of it committed): each request is written alone, so one bad request fails only itself.</summary>
    private async Task RefuseAsync(List<PendingAppend> group, Exception ex, CancellationToken stoppingToken)
    {
        if (ex is PostgresException && group.Count > 1)
        {
            logger.LogDebug(ex, "A group of {Count} appends was refused; writing each alone", group.Count);
            foreach (var pending in group)
            {
                if (await BeginAloneAsync([pending], stoppingToken) is { } alone)
                {
                    await FinishAsync(alone, next: null, stoppingToken);
                }
            }

            return;
        }

        Fail(group, ex);
    }

    /// <summary>After a failed statement: rolls the connection's transaction back, or drops a connection that cannot.</summary>
    private async Task EndFailedTransactionAsync(Exception ex)
    {
        if (ex is PostgresException && connection is { State: System.Data.ConnectionState.Open } db)
        {
            // The BEGIN and COMMIT are statements of the batches, not an NpgsqlTransaction: a failed group leaves
            // its transaction open (aborted) on this connection until it is rolled back here.
            await RollBackQuietlyAsync(db);
        }
        else
        {
            // The connection may be broken: the next group opens a new one.
            await DropConnectionAsync();
        }
    }

    /// <summary>Answers a committed group's requests; false if that failed (the connection is then dropped and the requests fail).</summary>
    private async Task<bool> AnswerAsync(OpenGroup open)
    {
        var group = open.Group;
        var results = open.Results;
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
        }

        try
        {
            foreach (var hook in hooks)
            {
                hook.AfterCommit(group);
            }
        }
        catch (Exception ex)
        {
            logger.LogDebug(ex, "Answering a committed group of {Count} appends failed", group.Count);
            await DropConnectionAsync();
            Fail(group, ex);
            return false;
        }

        for (var i = 0; i < group.Count; i++)
        {
            group[i].Complete(results[i]);
        }

        return true;
    }

    private static void Fail(List<PendingAppend>? group, Exception ex)
    {
        foreach (var pending in group ?? [])
        {
            pending.Fail(ex);
        }
    }

    private async Task<NpgsqlConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        if (connection is { State: System.Data.ConnectionState.Open })
        {
            return connection;
        }

        await DropConnectionAsync();
        var unpooled = new NpgsqlConnectionStringBuilder(database.ServiceConnectionString) { Pooling = false };
        var opened = new NpgsqlConnection(unpooled.ConnectionString);
        await opened.OpenAsync(cancellationToken);
        connection = opened;
        return opened;
    }

    private async Task DropConnectionAsync()
    {
        if (connection is not null)
        {
            await connection.DisposeAsync();
            connection = null;
        }
    }

    public override void Dispose()
    {
        connection?.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// The open group's second half: every chain link, the stream heads, the joined rows (for requests whose events
    /// were written), the NOTIFY and the COMMIT. None of them returns rows. After an error PostgreSQL skips the rest
    /// of the batch, so the COMMIT runs only when every statement before it succeeded; it answers once it is durable.
    /// </summary>
    private void AddFinish(NpgsqlBatch batch, OpenGroup open)
    {
        var workspace = open.Workspace;
        var links = new List<(Guid Job, ChainLink Link)>();
        var heads = new Dictionary<Guid, byte[]>();
        foreach (var stored in open.Results)
        {
            foreach (var e in stored)
            {
                var prev = heads.TryGetValue(e.JobId, out var head) ? head : open.FirstPrev[e.JobId];
                var link = ChainFormat.Link(keys, ChainKind.Events, e.WorkspaceId, e.JobId, e.Seq, e.OccurredAt, ChainFormat.Digest(e), prev);
                links.Add((e.JobId, link));
                heads[e.JobId] = link.Hash;
            }
        }

        if (links.Count > 0)
        {
            batch.BatchCommands.Add(LinksCommand(workspace, links));
            batch.BatchCommands.Add(HeadsCommand(workspace, heads));
            // The requests' joined rows (activity), under the same workspace setting, for those whose events were written.
            for (var i = 0; i < open.Group.Count; i++)
            {
                if (open.Results[i].Count > 0 && open.Group[i].Joined is { } joined)
                {
                    foreach (var statement in joined.Statements)
                    {
                        batch.BatchCommands.Add(statement());
                    }
                }
            }

            if (options.NotifyOtherInstances)
            {
                batch.BatchCommands.Add(new NpgsqlBatchCommand($"notify {EventLog.Channel}"));
            }
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
    }

    /// <summary>
    /// One group of one workspace: its BEGIN, workspace setting and appends (one statement for a group without
    /// Idempotency-Keys, one per request otherwise), and what they stored, with the head each job's first append found.
    /// </summary>
    private sealed class OpenGroup
    {
        private Dictionary<Guid, int>? owner;

        public OpenGroup(List<PendingAppend> group)
        {
            Group = group;
            Workspace = group[0].WorkspaceId;
            Results = new List<EventRecord>[group.Count];
            for (var i = 0; i < group.Count; i++)
            {
                Results[i] = new List<EventRecord>(group[i].Request.Events.Count);
            }
        }

        public List<PendingAppend> Group { get; }

        public Guid Workspace { get; }

        public List<EventRecord>[] Results { get; }

        /// <summary>Each job's head as its first append in the group found it; later events chain on in memory.</summary>
        public Dictionary<Guid, byte[]?> FirstPrev { get; } = [];

        private bool OneStatement => Group.Count > 1 && Group.All(p => p.Request.IdempotencyKey is null);

        public void AddAppends(NpgsqlBatch batch)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("begin isolation level read committed"));
            batch.BatchCommands.Add(WorkspaceSetting.Command(Workspace));
            if (OneStatement)
            {
                batch.BatchCommands.Add(GroupWithoutKeysCommand());
            }
            else
            {
                foreach (var pending in Group)
                {
                    batch.BatchCommands.Add(AppendCommand(Workspace, pending.Request));
                }
            }
        }

        /// <summary>Reads the appends' rows; the reader is on the workspace setting's result (Npgsql yields none for statements without rows).</summary>
        public async Task ReadAppendsAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
        {
            if (reader.FieldCount != 1 || reader.GetName(0) != "set_config")
            {
                throw new InvalidOperationException("A statement before the group's appends returned rows.");
            }

            if (OneStatement)
            {
                await reader.NextResultAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    var stored = EventRows.Read(reader);
                    Results[owner![stored.Id]].Add(stored);
                    FirstPrev.TryAdd(stored.JobId, reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11));
                }

                foreach (var stored in Results)
                {
                    stored.Sort((a, b) => a.Seq.CompareTo(b.Seq));
                }

                return;
            }

            for (var i = 0; i < Group.Count; i++)
            {
                await reader.NextResultAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    Results[i].Add(EventRows.Read(reader));
                    FirstPrev.TryAdd(Group[i].Request.JobId, reader.IsDBNull(11) ? null : reader.GetFieldValue<byte[]>(11));
                }
            }
        }

        /// <summary><see cref="AppendGroupWithoutKeysSql"/> for the group; its rows go back to their requests by event id.</summary>
        private NpgsqlBatchCommand GroupWithoutKeysCommand()
        {
            owner = [];
            var totals = new Dictionary<Guid, long>();
            var count = Group.Sum(p => p.Request.Events.Count);
            var jobs = new Guid[count];
            var offsets = new long[count];
            var ids = new Guid[count];
            var types = new string[count];
            var steps = new Guid?[count];
            var payloads = new string?[count];
            var occurred = new DateTime?[count];
            var actors = new string[count];
            var correlations = new string[count];
            var nows = new DateTime[count];
            var traces = new string?[count];
            var n = 0;
            for (var i = 0; i < Group.Count; i++)
            {
                var request = Group[i].Request;
                foreach (var e in request.Events)
                {
                    // The place of this event among its job's events in the group, in arrival order.
                    var offset = totals[request.JobId] = totals.GetValueOrDefault(request.JobId) + 1;
                    owner[e.Id] = i;
                    jobs[n] = request.JobId;
                    offsets[n] = offset;
                    ids[n] = e.Id;
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
            p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = Workspace });
            p.Add(new NpgsqlParameter("stream_jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = streams.Select(t => t.Key).ToArray() });
            p.Add(new NpgsqlParameter("stream_totals", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = streams.Select(t => t.Value).ToArray() });
            p.Add(new NpgsqlParameter("jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = jobs });
            p.Add(new NpgsqlParameter("offsets", NpgsqlDbType.Array | NpgsqlDbType.Bigint) { Value = offsets });
            p.Add(new NpgsqlParameter("ids", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = ids });
            p.Add(new NpgsqlParameter("types", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = types });
            p.Add(new NpgsqlParameter("steps", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = steps });
            p.Add(new NpgsqlParameter("payloads", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = payloads });
            p.Add(new NpgsqlParameter("occurred", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = occurred });
            p.Add(new NpgsqlParameter("actors", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = actors });
            p.Add(new NpgsqlParameter("correlations", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = correlations });
            p.Add(new NpgsqlParameter("nows", NpgsqlDbType.Array | NpgsqlDbType.TimestampTz) { Value = nows });
            p.Add(new NpgsqlParameter("traces", NpgsqlDbType.Array | NpgsqlDbType.Text) { Value = traces });
            return append;
        }
    }

    private async Task RollBackQuietlyAsync(NpgsqlConnection db)
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
            await DropConnectionAsync();
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

    private static NpgsqlBatchCommand HeadsCommand(Guid workspace, Dictionary<Guid, byte[]> heads)
    {
        var command = new NpgsqlBatchCommand(HeadsSql);
        var p = command.Parameters;
        p.Add(new NpgsqlParameter("workspace", NpgsqlDbType.Uuid) { Value = workspace });
        p.Add(new NpgsqlParameter("jobs", NpgsqlDbType.Array | NpgsqlDbType.Uuid) { Value = heads.Keys.ToArray() });
        p.Add(new NpgsqlParameter("hashes", NpgsqlDbType.Array | NpgsqlDbType.Bytea) { Value = heads.Values.ToArray() });
        return command;
    }
}
