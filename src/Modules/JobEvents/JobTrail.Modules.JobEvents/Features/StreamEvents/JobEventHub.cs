using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.Modules.JobEvents.Delivery;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobEvents.Relay;
using StackExchange.Redis;

namespace JobTrail.Modules.JobEvents.Features.StreamEvents;

/// <summary>
/// Fans Valkey Pub/Sub out to the clients of this instance: one subscription per job that has
/// listeners, shared by all of them, each listener with its own bounded buffer. Each message is
/// verified once (<see cref="DeliveryIntegrity"/>) before any listener sees it. It also checks, for
/// all of them at once, whether PostgreSQL holds anything a stream has not sent (<see cref="CheckAsync"/>).
/// Events this instance's group writer commits also reach its own listeners at once (<see cref="DeliverCommitted"/>),
/// ahead of the relay's copy, which is still verified and then dropped by each listener that has the event.
/// </summary>
internal sealed class JobEventHub(
    IValkeyClient valkey, DeliveryIntegrity integrity, EventStreamOptions options, IServiceScopeFactory scopes, ILogger<JobEventHub> logger)
{
    // Changed only under the gate; read without it by DeliverCommitted, on the group writer's thread.
    private readonly ConcurrentDictionary<Guid, Feed> feeds = [];
    private readonly SemaphoreSlim gate = new(1, 1);

    private int subscriptions;
    private long checkRounds;
    private long deliveredCommitted;
    private long skippedCopies;

    /// <summary>Events offered to this instance's listeners straight from its group writer (for tests and diagnostics).</summary>
    public long DeliveredCommitted => Interlocked.Read(ref deliveredCommitted);

    /// <summary>Live messages dropped unread because every listener of their job already had their seq (for tests and diagnostics).</summary>
    public long SkippedCopies => Interlocked.Read(ref skippedCopies);

    /// <summary>Jobs with a live Valkey subscription in this instance.</summary>
    public int Subscriptions => Volatile.Read(ref subscriptions);

    /// <summary>Rounds of <see cref="CheckAsync"/> completed since start.</summary>
    public long CheckRounds => Interlocked.Read(ref checkRounds);

    /// <summary>
    /// One round of the periodic check for every stream of this instance: one read-only query per
    /// workspace reads the heads of all its listened jobs, and only a stream whose job's head is past
    /// what it sent (or sealed, or gone) is told to catch up. An idle stream costs no statement of its own.
    /// </summary>
    public async Task CheckAsync(CancellationToken cancellationToken)
    {
        List<Feed> snapshot;
        await gate.WaitAsync(cancellationToken);
        try
        {
            snapshot = [.. feeds.Values];
        }
        finally
        {
            gate.Release();
        }

        foreach (var workspace in snapshot.GroupBy(f => f.WorkspaceId))
        {
            try
            {
                var heads = await ReadHeadsAsync(workspace.Key, [.. workspace.Select(f => f.JobId)], cancellationToken);
                foreach (var feed in workspace)
                {
                    var head = heads.GetValueOrDefault(feed.JobId);
                    JobEventListener[] listeners;
                    lock (feed.Listeners)
                    {
                        listeners = [.. feed.Listeners];
                    }

                    foreach (var listener in listeners)
                    {
                        if (listener.Covered is { } covered && (head is null || head.Sealed || head.LastSeq > covered))
                        {
                            listener.Behind();
                        }
                    }
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // The streams keep their live messages; the next round (or a reconnect's backfill) reads again.
                logger.LogDebug("The streams' periodic check could not read PostgreSQL for workspace {WorkspaceId}: {Error}", workspace.Key, ex.Message);
            }
        }

        Interlocked.Increment(ref checkRounds);
    }

    /// <summary>The heads of <paramref name="jobIds"/> in one statement, under the workspace's row-level security.</summary>
    private async Task<Dictionary<Guid, StreamHead>> ReadHeadsAsync(Guid workspaceId, Guid[] jobIds, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var session = scope.ServiceProvider.GetRequiredService<DbSession>();
        await session.BeginAsync(workspaceId, readOnly: true, cancellationToken);
        try
        {
            await using var batch = session.CreateBatch();
            batch.BatchCommands.Add(EventRows.Command(
                "select job_id, last_seq, sealed_at is not null from job_events.job_streams where workspace_id = $1 and job_id = any($2)",
                workspaceId, jobIds));
            await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
            var heads = new Dictionary<Guid, StreamHead>(jobIds.Length);
            while (await reader.ReadAsync(cancellationToken))
            {
                heads[reader.GetGuid(0)] = new StreamHead(reader.GetInt64(1), reader.GetBoolean(2));
            }

            return heads;
        }
        finally
        {
            await session.EndAsync();
        }
    }

    /// <summary>Whether Valkey is reachable now: a subscription made while it is down is only a local registration.</summary>
    public bool IsValkeyConnected => valkey.IsConnected;

    /// <summary>Listens to a job of <paramref name="workspaceId"/>: only messages signed for that job and workspace get through.</summary>
    public async Task<JobEventListener> ListenAsync(Guid jobId, Guid workspaceId, int capacity, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!feeds.TryGetValue(jobId, out var feed))
            {
                feed = new Feed(jobId, workspaceId);
                feeds[jobId] = feed;
            }
            else if (feed.WorkspaceId != workspaceId)
            {
                // A job id belongs to one workspace; callers have checked the job is in theirs.
                throw new InvalidOperationException($"Job {jobId} is listened to in another workspace.");
            }

            var listener = new JobEventListener(this, feed, capacity);
            lock (feed.Listeners)
            {
                feed.Listeners.Add(listener);
            }

            await EnsureSubscribedAsync(feed);
            return listener;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Tries again to subscribe a feed whose subscription failed (Valkey was down).</summary>
    public async Task ResubscribeAsync(Feed feed)
    {
        await gate.WaitAsync();
        try
        {
            if (feeds.ContainsKey(feed.JobId))
            {
                await EnsureSubscribedAsync(feed);
            }
        }
        finally
        {
            gate.Release();
        }
    }

    internal async Task ReleaseAsync(JobEventListener listener)
    {
        await gate.WaitAsync();
        try
        {
            var feed = listener.Feed;
            bool empty;
            lock (feed.Listeners)
            {
                feed.Listeners.Remove(listener);
                empty = feed.Listeners.Count == 0;
            }

            if (empty && feeds.TryRemove(feed.JobId, out _) && feed.Subscription is { } subscription)
            {
                feed.Subscription = null;
                Interlocked.Decrement(ref subscriptions);
                try
                {
                    await subscription.DisposeAsync();
                }
                catch (Exception ex) when (ex is RedisException or TimeoutException)
                {
                    logger.LogDebug(ex, "Unsubscribing job {JobId} failed; Valkey drops it with the connection", feed.JobId);
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task EnsureSubscribedAsync(Feed feed)
    {
        if (feed.Subscription is not null)
        {
            return;
        }

        try
        {
            feed.Subscription = await valkey.SubscribeAsync(ValkeyKeys.Channel(feed.JobId), json => Dispatch(feed, json));
            Interlocked.Increment(ref subscriptions);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Debug: the Valkey client logs the outage itself, once; this happens per stream opened.
            logger.LogDebug("No live subscription for job {JobId} (Valkey unavailable); its streams poll PostgreSQL: {Error}", feed.JobId, ex.Message);
        }
    }

    /// <summary>
    /// Offers what this instance's group writer has just committed (one request's events, all of one job, after
    /// the COMMIT returned) to this instance's listeners of that job, so that they need not wait for the relay's
    /// round trips through PostgreSQL and Valkey. A listener takes such an event only when it is the very next
    /// seq it has (see <see cref="JobEventListener.OfferCommitted"/>); anything else, such as a system event
    /// between two emits still on its way through the relay, leaves the order to the relay's copy. The frame is
    /// made once per event, and only when some listener takes it; it is the
    /// JSON the emit's answer and the relay send too (<see cref="StoredEvents"/>).
    /// </summary>
    public void DeliverCommitted(IReadOnlyList<EventRecord> events, string? traceParent)
    {
        if (!options.LocalDelivery || events.Count == 0
            || !feeds.TryGetValue(events[0].JobId, out var feed) || feed.WorkspaceId != events[0].WorkspaceId)
        {
            return;
        }

        JobEventListener[] listeners;
        lock (feed.Listeners)
        {
            listeners = [.. feed.Listeners];
        }

        for (var i = 0; i < events.Count; i++)
        {
            var stored = events[i];
            LiveEvent? live = null;
            foreach (var listener in listeners)
            {
                if (listener.Expects(stored.Seq))
                {
                    live ??= new LiveEvent(stored.Seq, stored.Type, StoredEvents.JsonOf(events, i))
                    {
                        RecordedAt = stored.RecordedAt,
                        TraceParent = traceParent,
                    };
                    if (listener.OfferCommitted(live))
                    {
                        Interlocked.Increment(ref deliveredCommitted);
                    }
                }
            }
        }
    }

    private void Dispatch(Feed feed, string message)
    {
        JobEventListener[] listeners;
        lock (feed.Listeners)
        {
            listeners = [.. feed.Listeners];
        }

        // The relay's copy of an event every listener here already has (this instance delivered it from its own
        // commit) is dropped before it is parsed or verified: whatever it holds, each listener would drop it.
        if (LiveMessage.TryPeekSeq(message, out var claimed) && Array.TrueForAll(listeners, l => l.Has(claimed)))
        {
            Interlocked.Increment(ref skippedCopies);
            return;
        }

        var parsed = LiveMessage.TryParse(message);
        var live = parsed is null
            ? integrity.Verify(feed.JobId, feed.WorkspaceId, 0, message, null, DeliveryIntegrity.FromLive)
            : integrity.Verify(feed.JobId, feed.WorkspaceId, parsed.Seq, parsed.Json, parsed.Signature, DeliveryIntegrity.FromLive) is { } verified
                ? verified with { TraceParent = parsed.TraceParent }
                : null;

        foreach (var listener in listeners)
        {
            if (live is null)
            {
                listener.Nudge();
            }
            else
            {
                listener.Offer(live);
            }
        }
    }

    internal sealed class Feed(Guid jobId, Guid workspaceId)
    {
        public Guid JobId { get; } = jobId;
        public Guid WorkspaceId { get; } = workspaceId;
        public List<JobEventListener> Listeners { get; } = [];
        public IAsyncDisposable? Subscription { get; set; }
    }
}

/// <summary>One client's view of a job's live events.</summary>
internal sealed class JobEventListener : IAsyncDisposable
{
    private readonly JobEventHub hub;
    private readonly Channel<LiveEvent> buffer;
    private readonly Lock offering = new();
    private int nudged;
    private int behind;
    private long sent = -1;
    private long offered = -1;

    public JobEventListener(JobEventHub hub, JobEventHub.Feed feed, int capacity)
    {
        this.hub = hub;
        Feed = feed;
        buffer = Channel.CreateBounded<LiveEvent>(new BoundedChannelOptions(capacity) { SingleReader = true });
    }

    internal JobEventHub.Feed Feed { get; }

    /// <summary>Live messages can arrive: subscribed, and Valkey reachable now.</summary>
    public bool IsLive => Feed.Subscription is not null && hub.IsValkeyConnected;

    /// <summary>
    /// Put in the buffer when the periodic check found the job's log past <see cref="Sent"/>: not an
    /// event, a request to catch up now.
    /// </summary>
    public static readonly LiveEvent CatchUp = new(0, "catch-up", string.Empty);

    /// <summary>The last seq the stream sent, once it tracks it (<see cref="Track"/>).</summary>
    public long? Sent => Interlocked.Read(ref sent) is var value and >= 0 ? value : null;

    /// <summary>
    /// The last seq the stream sent or has in its buffer, once it tracks what it sent: everything up to it reaches the
    /// client (or, past a gap in the buffer, is read from the store when the stream gets there). The periodic check asks
    /// only a stream whose job is past this to catch up, and skips a listener that does not track yet.
    /// </summary>
    public long? Covered => Sent is null ? null : Last;

    /// <summary>Set when the client fell a whole buffer behind; its stream ends and it resumes.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>
    /// Buffers a verified live message from Valkey, unless its seq was already buffered or sent (the relay's copy of
    /// an event this instance delivered itself). Anything further ahead is buffered as before: the stream fills a gap
    /// from the store.
    /// </summary>
    public void Offer(LiveEvent live)
    {
        lock (offering)
        {
            if (Has(live.Seq))
            {
                return;
            }

            _ = Write(live);
        }
    }

    /// <summary>
    /// Buffers an event this instance has just committed, only if it is the very next seq after everything
    /// buffered or sent; otherwise it is left to the relay's copy, which keeps the job's order. True if buffered.
    /// </summary>
    public bool OfferCommitted(LiveEvent live)
    {
        lock (offering)
        {
            return Expects(live.Seq) && Write(live);
        }
    }

    /// <summary>Whether <paramref name="seq"/> was already buffered for, or sent by, this stream.</summary>
    public bool Has(long seq) => seq <= Last;

    /// <summary>Whether <paramref name="seq"/> is the next one this stream needs, and it tracks what it sent.</summary>
    public bool Expects(long seq) => Interlocked.Read(ref sent) >= 0 && seq == Last + 1;

    private long Last => Math.Max(Interlocked.Read(ref offered), Interlocked.Read(ref sent));

    private bool Write(LiveEvent live)
    {
        if (buffer.Writer.TryWrite(live))
        {
            Interlocked.Exchange(ref offered, Math.Max(Interlocked.Read(ref offered), live.Seq));
            return true;
        }

        Overflowed = true;
        buffer.Writer.TryComplete();
        return false;
    }

    /// <summary>
    /// A message for this job did not verify: queues one <see cref="LiveEvent.Unverified"/> hint (never
    /// more than one at a time, and never counted as falling behind, so forged messages cannot cut a
    /// client off).
    /// </summary>
    public void Nudge()
    {
        if (Interlocked.Exchange(ref nudged, 1) == 0 && !buffer.Writer.TryWrite(LiveEvent.Unverified))
        {
            Interlocked.Exchange(ref nudged, 0);
        }
    }

    /// <summary>Records the last seq the stream has sent, for the periodic check.</summary>
    public void Track(long seq) => Interlocked.Exchange(ref sent, seq);

    /// <summary>Queues one <see cref="CatchUp"/> request (never more than one at a time; a full buffer drops it, the next round asks again).</summary>
    public void Behind()
    {
        if (Interlocked.Exchange(ref behind, 1) == 0 && !buffer.Writer.TryWrite(CatchUp))
        {
            Interlocked.Exchange(ref behind, 0);
        }
    }

    /// <summary>The next live event (or <see cref="LiveEvent.Unverified"/> or <see cref="CatchUp"/>), or null when <paramref name="timeout"/> passes first.</summary>
    public async Task<LiveEvent?> ReadAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (buffer.Reader.TryRead(out var ready))
        {
            return Taken(ready);
        }

        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timer.CancelAfter(timeout);
        try
        {
            if (await buffer.Reader.WaitToReadAsync(timer.Token) && buffer.Reader.TryRead(out var live))
            {
                return Taken(live);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        throw new ClientTooSlowException();
    }

    public Task ResubscribeAsync() => hub.ResubscribeAsync(Feed);

    private LiveEvent Taken(LiveEvent live)
    {
        if (ReferenceEquals(live, LiveEvent.Unverified))
        {
            Interlocked.Exchange(ref nudged, 0);
        }
        else if (ReferenceEquals(live, CatchUp))
        {
            Interlocked.Exchange(ref behind, 0);
        }

        return live;
    }

    public async ValueTask DisposeAsync() => await hub.ReleaseAsync(this);
}

internal sealed class ClientTooSlowException() : Exception("The client fell too far behind the live events.");
