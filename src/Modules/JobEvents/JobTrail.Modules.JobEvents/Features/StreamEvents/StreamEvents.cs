using System.Globalization;
using System.Runtime.CompilerServices;
using JobTrail.BuildingBlocks.Streaming;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobEvents.Relay;
using JobTrail.Modules.JobEvents.Delivery;
using Microsoft.AspNetCore.Http;
using StackExchange.Redis;

namespace JobTrail.Modules.JobEvents.Features.StreamEvents;

/// <summary>
/// Opens a live stream of a job's events after <c>Last-Event-ID</c> (or <c>afterSeq</c>; from seq 1
/// without either). The job must exist in the caller's workspace, and the workspace must have a
/// stream slot free (429 otherwise).
/// </summary>
[RequiresScope(Scopes.EventsRead)]
internal sealed record OpenEventStreamQuery(Guid JobId, long? AfterSeq, string? LastEventId) : IQuery<JobEventStream>
{
    public long StartAfter => LastEventId is not null && long.TryParse(LastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
        ? id
        : AfterSeq ?? 0;
}

internal sealed class OpenEventStreamValidator : AbstractValidator<OpenEventStreamQuery>
{
    public OpenEventStreamValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.AfterSeq).GreaterThanOrEqualTo(0).WithMessage("'afterSeq' must be 0 or more.");
        RuleFor(x => x.LastEventId)
            .Must(id => id is null || long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .WithMessage("'Last-Event-ID' must be the seq of an event this stream sent.");
    }
}

internal sealed class OpenEventStreamHandler(
    DbSession session, StreamSlots slots, JobEventHub hub, IValkeyClient valkey, DeliveryIntegrity integrity, IMediator mediator,
    RequestContext context, EventStreamOptions options, IHttpContextAccessor http, ILogger<JobEventStream> logger)
    : IRequestHandler<OpenEventStreamQuery, JobEventStream>
{
    public async Task<JobEventStream> Handle(OpenEventStreamQuery request, CancellationToken cancellationToken)
    {
        _ = await StreamHead.ReadAsync(session, request.JobId, cancellationToken) ?? throw JobEventErrors.JobNotFound(request.JobId);
        var workspaceId = context.RequireWorkspace();
        var (acquired, refusal) = await slots.TryAcquireAsync(workspaceId, context.ApiKeyId);
        var slot = acquired ?? throw refusal switch
        {
            SlotRefusal.Key => new TooManyRequestsException(
                $"This API key already holds {slots.MaxPerKey} of this workspace's {options.MaxStreamsPerWorkspace} event streams here " +
                "(JobTrail:Events:Stream:MaxShareOfWorkspacePerKey); close one or retry later.",
                TimeSpan.FromSeconds(5), "too_many_streams"),
            _ => new TooManyRequestsException(
                $"This workspace already has {options.MaxStreamsPerWorkspace} open event streams here; close one or retry later.",
                TimeSpan.FromSeconds(5), "too_many_streams"),
        };
        var stream = new JobEventStream(request.JobId, workspaceId, request.StartAfter, slot, hub, valkey, integrity, mediator, options, logger);
        // Releases the slot even when the request ends before the stream is written (an abort, a failed commit).
        http.HttpContext?.Response.RegisterForDisposeAsync(stream);
        return stream;
    }
}

/// <summary>Events after a seq, for a stream's backfill and catch-up, with the log's head.</summary>
[RequiresScope(Scopes.EventsRead)]
internal sealed record ReadEventsAfterQuery(Guid JobId, long AfterSeq, int Limit) : IQuery<EventsAfter>;

internal sealed record EventsAfter(IReadOnlyList<LiveEvent> Events, StreamHead Head);

internal sealed class ReadEventsAfterValidator : AbstractValidator<ReadEventsAfterQuery>
{
    public ReadEventsAfterValidator()
    {
        RuleFor(x => x.AfterSeq).GreaterThanOrEqualTo(0);
        RuleFor(x => x.Limit).InclusiveBetween(1, 1000);
    }
}

internal sealed class ReadEventsAfterHandler(DbSession session) : IRequestHandler<ReadEventsAfterQuery, EventsAfter>
{
    public async Task<EventsAfter> Handle(ReadEventsAfterQuery request, CancellationToken cancellationToken)
    {
        var head = await StreamHead.ReadAsync(session, request.JobId, cancellationToken) ?? throw JobEventErrors.JobNotFound(request.JobId);
        var rows = await ReadAsync(session, request.JobId, request.AfterSeq, request.Limit, cancellationToken);
        var events = rows
            .Select(e => new LiveEvent(e.Seq, e.Type, JobEventResponse.Render(e)) { RecordedAt = e.RecordedAt })
            .ToList();
        return new EventsAfter(events, head);
    }

    /// <summary>Up to <paramref name="limit"/> events after <paramref name="afterSeq"/>, in seq order.</summary>
    internal static async Task<List<EventRecord>> ReadAsync(DbSession session, Guid jobId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using var batch = EventRows.Batch(session);
        batch.BatchCommands.Add(EventRows.Command(
            $"select {EventRows.Columns} from job_events.events where workspace_id = $1 and job_id = $2 and seq > $3 order by seq limit $4",
            session.WorkspaceId, jobId, afterSeq, limit));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await EventRows.ReadAllAsync(reader, cancellationToken);
    }
}

/// <summary>What the stream writes: an event, or a heartbeat.</summary>
internal sealed record StreamFrame(LiveEvent? Event)
{
    public static readonly StreamFrame Ping = new((LiveEvent?)null);
}

/// <summary>
/// One client's stream. Subscribes first, then backfills everything after the client's seq (from the
/// Valkey stream where it reaches back far enough, else from PostgreSQL), then forwards live events:
/// a seq already sent is dropped, a gap is backfilled before going on, and PostgreSQL is checked now
/// and then in case a live message was lost (while subscribed by the hub's shared check, which asks the
/// stream to catch up only when its job's log is past what it sent). Ends after the job's terminal event.
/// </summary>
internal sealed class JobEventStream(
    Guid jobId, Guid workspaceId, long startAfter, IDisposable slot, JobEventHub hub, IValkeyClient valkey, DeliveryIntegrity integrity,
    IMediator mediator, EventStreamOptions options, ILogger logger) : IAsyncDisposable
{
    private long lastSent = startAfter;
    private bool ended;
    private JobEventListener? tracked;

    public TimeSpan Retry => options.Retry;

    public async IAsyncEnumerable<StreamFrame> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var listener = await hub.ListenAsync(jobId, workspaceId, options.ClientBuffer, cancellationToken);
        tracked = listener;
        listener.Track(lastSent);

        await foreach (var frame in CatchUpAsync(cancellationToken))
        {
            yield return frame;
        }

        var lastCatchUp = DateTime.UtcNow;
        var nextPing = lastCatchUp + options.Heartbeat;
        var nextCheck = lastCatchUp + CheckInterval(listener);
        var deadline = DateTime.UtcNow + options.MaxDuration;
        var readSoon = false;
        while (!ended && DateTime.UtcNow < deadline)
        {
            var now = DateTime.UtcNow;
            var wait = (nextPing < nextCheck ? nextPing : nextCheck) - now;
            var live = wait > TimeSpan.Zero ? await listener.ReadAsync(wait, cancellationToken) : null;
            if (live is null)
            {
                now = DateTime.UtcNow;
                if (now >= nextPing)
                {
                    yield return StreamFrame.Ping;
                    nextPing = now + options.Heartbeat;
                }

                if (now >= nextCheck)
                {
                    // While subscribed the hub's shared check (JobEventHub.CheckAsync) watches PostgreSQL
                    // for this stream; it reads the store itself only without live messages or when asked to.
                    var wasLive = listener.IsLive;
                    if (!wasLive)
                    {
                        await listener.ResubscribeAsync();
                    }

                    if (!wasLive || readSoon)
                    {
                        await foreach (var frame in CatchUpAsync(cancellationToken))
                        {
                            yield return frame;
                        }

                        lastCatchUp = DateTime.UtcNow;
                        readSoon = false;
                    }

                    nextCheck = DateTime.UtcNow + CheckInterval(listener);
                }

                continue;
            }

            if (ReferenceEquals(live, LiveEvent.Unverified))
            {
                // A message that did not verify is never sent; PostgreSQL is read soon instead, at most
                // once per OfflinePollInterval however many such messages arrive.
                var soon = lastCatchUp + options.OfflinePollInterval;
                nextCheck = soon < nextCheck ? soon : nextCheck;
                readSoon = true;
                continue;
            }

            if (ReferenceEquals(live, JobEventListener.CatchUp))
            {
                // The shared check saw the job's log past what this stream sent: a live message was lost.
                await foreach (var frame in CatchUpAsync(cancellationToken))
                {
                    yield return frame;
                }

                lastCatchUp = DateTime.UtcNow;
                continue;
            }

            if (live.Seq <= lastSent)
            {
                continue;
            }

            if (live.Seq > lastSent + 1)
            {
                await foreach (var frame in CatchUpAsync(cancellationToken))
                {
                    yield return frame;
                }

            }

            // Only ever the very next seq: anything else is fetched from the store on the next catch-up.
            if (live.Seq != lastSent + 1)
            {
                continue;
            }

            yield return Send(live);
        }
    }

    public ValueTask DisposeAsync()
    {
        slot.Dispose();
        return ValueTask.CompletedTask;
    }

    private TimeSpan CheckInterval(JobEventListener listener) => listener.IsLive ? options.CatchUpInterval : options.OfflinePollInterval;

    private StreamFrame Send(LiveEvent live)
    {
        lastSent = live.Seq;
        tracked?.Track(live.Seq);
        ended = JobEventTypes.Terminal.Contains(live.Type);
        return new StreamFrame(live);
    }

    /// <summary>Everything after <see cref="lastSent"/> that is stored, page by page, until caught up or ended.</summary>
    private async IAsyncEnumerable<StreamFrame> CatchUpAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (!ended)
        {
            var (events, head, truncated) = await NextPageAsync(cancellationToken);
            foreach (var live in events)
            {
                if (live.Seq == lastSent + 1)
                {
                    yield return Send(live);
                    if (ended)
                    {
                        yield break;
                    }
                }
            }

            if (head is { Sealed: true } && lastSent >= head.LastSeq)
            {
                ended = true;
                yield break;
            }

            // A Valkey page cut short at a gap goes on (the next page reads PostgreSQL); a short page is the end.
            if (!truncated && events.Count < options.PageSize)
            {
                yield break;
            }
        }
    }

    /// <summary>
    /// From the Valkey stream when it holds the very next seq, as far as its entries run gapless and
    /// verify; else from PostgreSQL (which also gives the head).
    /// </summary>
    private async Task<(IReadOnlyList<LiveEvent> Events, StreamHead? Head, bool Truncated)> NextPageAsync(CancellationToken cancellationToken)
    {
        try
        {
            var key = ValkeyKeys.Stream(jobId);
            var oldest = await valkey.OldestSeqAsync(key);
            if (oldest is { } first && first <= lastSent + 1)
            {
                var entries = await valkey.ReadAfterAsync(key, lastSent, options.PageSize);
                var run = new List<LiveEvent>(entries.Count);
                // Only the gapless run of verified entries: a stream restored from an older snapshot may
                // have holes, and whatever does not verify is read from PostgreSQL instead.
                foreach (var entry in entries)
                {
                    if (entry.Seq != lastSent + 1 + run.Count
                        || integrity.Verify(jobId, workspaceId, entry.Seq, entry.Json, entry.Signature, DeliveryIntegrity.FromStream) is not { } live)
                    {
                        break;
                    }

                    run.Add(live with { TraceParent = entry.TraceParent });
                }

                if (run.Count > 0)
                {
                    return (run, null, run.Count < entries.Count);
                }
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            JobEventMetrics.CountFallback("backfill");
            logger.LogDebug("Backfill for job {JobId} reads PostgreSQL: Valkey unavailable ({Error})", jobId, ex.Message);
        }

        var page = await mediator.Send(new ReadEventsAfterQuery(jobId, lastSent, options.PageSize), cancellationToken);
        return (page.Events, page.Head, false);
    }
}
