using System.Globalization;
using System.Net;
using System.Threading.Channels;
using Polly.Timeout;

namespace JobTrail.Client;

/// <summary>How a <see cref="JobEventBuffer"/> batches, bounds its memory and gives up.</summary>
public sealed class JobEventBufferOptions
{
    /// <summary>A batch is sent once it holds this many events (1..1000)...</summary>
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>...or this long after its first event arrived, whichever comes first.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Events held at most; <see cref="JobEventBuffer.EnqueueAsync"/> waits while the buffer is full.</summary>
    public int Capacity { get; set; } = 10_000;

    /// <summary>How long one batch is retried (same Idempotency-Key) before its events are given up and reported lost.</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest wait between two attempts of the same batch.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>What a buffer had to give up on, for one job: recorded in that job's log as <c>client.events_lost</c>.</summary>
public sealed record EventLoss(Guid JobId, int Count, long FirstBufferSeq, long LastBufferSeq, DateTimeOffset From, DateTimeOffset To, string Reason);

/// <summary>
/// A background emitter: events are queued in memory and sent with the batch endpoint, per job in
/// the order they were queued. Memory is bounded by back-pressure: when <see cref="JobEventBufferOptions.Capacity"/>
/// events wait, <see cref="EnqueueAsync"/> waits too; nothing is dropped for space. Each batch gets
/// one Idempotency-Key and keeps it on every retry, so an outage or a lost answer neither loses nor
/// duplicates events. Only when a batch cannot be delivered within <see cref="JobEventBufferOptions.GiveUpAfter"/>,
/// or the server refuses it for good (4xx), are its events given up: the buffer then writes a
/// <c>client.events_lost</c> event (count, buffer seq range, time span, reason) to that job's log as soon
/// as the server answers again. <see cref="DisposeAsync"/> sends what is left.
/// </summary>
public sealed class JobEventBuffer : IAsyncDisposable
{
    private readonly JobTrailClient client;
    private readonly JobEventBufferOptions options;
    private readonly Channel<Entry> channel;
    private readonly Dictionary<Guid, long> bufferSeqs = [];
    private readonly Dictionary<Guid, List<PendingLoss>> losses = [];
    private readonly Task loop;
    private long sent;
    private long lost;
    private int disposed;

    internal JobEventBuffer(JobTrailClient client, JobEventBufferOptions options)
    {
        if (options.MaxBatchSize is < 1 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxBatchSize must be 1..1000 (the batch endpoint's limit).");
        }

        if (options.Capacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "Capacity must be positive.");
        }

        this.client = client;
        this.options = options;
        channel = Channel.CreateBounded<Entry>(new BoundedChannelOptions(options.Capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        loop = Task.Run(RunAsync);
    }

    /// <summary>Events the server has stored.</summary>
    public long SentCount => Interlocked.Read(ref sent);

    /// <summary>Events given up (each also reported in its job's log, see <see cref="JobEventBuffer"/>).</summary>
    public long LostCount => Interlocked.Read(ref lost);

    /// <summary>Raised (on the buffer's thread) when events are given up, before the loss is recorded.</summary>
    public event Action<EventLoss>? EventsLost;

    /// <summary>Queues an event; waits while the buffer is full. The event's time is taken now unless it has one.</summary>
    public ValueTask EnqueueAsync(Guid jobId, NewJobEvent newEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(newEvent);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref disposed) != 0, this);
        var stamped = newEvent.OccurredAt is null ? newEvent with { OccurredAt = DateTimeOffset.UtcNow } : newEvent;
        return channel.Writer.WriteAsync(new Entry(jobId, stamped, null), cancellationToken);
    }

    /// <summary>Completes once every event queued before the call is stored or given up.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await channel.Writer.WriteAsync(new Entry(Guid.Empty, null, done), cancellationToken);
        await done.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Sends everything still queued (within the give-up budget), then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        channel.Writer.TryComplete();
        await loop;
    }

    private async Task RunAsync()
    {
        var reader = channel.Reader;
        var batch = new List<Entry>(options.MaxBatchSize);
        while (true)
        {
            var wait = reader.WaitToReadAsync().AsTask();
            if (losses.Count > 0)
            {
                // Losses wait to be recorded: try again now and then even while no events come.
                await Task.WhenAny(wait, Task.Delay(options.MaxRetryDelay));
                if (!wait.IsCompleted)
                {
                    await RecordLossesAsync(null);
                    continue;
                }
            }

            if (!await wait)
            {
                break;
            }

            batch.Clear();
            var flushes = new List<TaskCompletionSource>();
            var deadline = DateTime.UtcNow + options.FlushInterval;
            while (batch.Count < options.MaxBatchSize)
            {
                if (reader.TryRead(out var entry))
                {
                    if (entry.Flush is not null)
                    {
                        flushes.Add(entry.Flush);
                        break;
                    }

                    batch.Add(entry);
                    continue;
                }

                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero)
                {
                    break;
                }

                var more = reader.WaitToReadAsync().AsTask();
                if (await Task.WhenAny(more, Task.Delay(remaining)) != more || !await more)
                {
                    break;
                }
            }

            try
            {
                await SendAsync(batch);
            }
            finally
            {
                foreach (var flush in flushes)
                {
                    flush.TrySetResult();
                }
            }
        }

        await RecordLossesAsync(null);
    }

    private async Task SendAsync(List<Entry> batch)
    {
        // Per job, in queue order; jobs one after another, so a job's batches never overtake each other.
        foreach (var job in batch.GroupBy(e => e.JobId))
        {
            var events = new List<(long Seq, NewJobEvent Event)>();
            foreach (var entry in job)
            {
                var seq = bufferSeqs.TryGetValue(job.Key, out var last) ? last + 1 : 1;
                bufferSeqs[job.Key] = seq;
                events.Add((seq, entry.Event!));
            }

            await RecordLossesAsync(job.Key);
            await SendJobBatchAsync(job.Key, events);
        }
    }

    private async Task SendJobBatchAsync(Guid jobId, List<(long Seq, NewJobEvent Event)> events)
    {
        var key = JobTrailClient.NewIdempotencyKey();
        var payload = events.Select(e => e.Event).ToList();
        var started = DateTime.UtcNow;
        var delay = TimeSpan.FromMilliseconds(200);
        while (true)
        {
            string reason;
            try
            {
                await client.EmitEventsAsync(jobId, payload, key);
                Interlocked.Add(ref sent, events.Count);
                return;
            }
            catch (JobTrailApiException ex) when (IsFinal(ex))
            {
                GiveUp(jobId, events, $"refused: {ex.StatusCode} {ex.Code ?? ex.Title}");
                return;
            }
            catch (Exception ex) when (ex is JobTrailApiException or HttpRequestException or TimeoutRejectedException or TaskCanceledException or IOException)
            {
                reason = ex.Message;
            }

            if (DateTime.UtcNow - started >= options.GiveUpAfter)
            {
                GiveUp(jobId, events, $"undelivered after {options.GiveUpAfter}: {reason}");
                return;
            }

            await Task.Delay(Jitter(delay));
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxRetryDelay.Ticks));
        }
    }

    private void GiveUp(Guid jobId, List<(long Seq, NewJobEvent Event)> events, string reason)
    {
        var loss = new EventLoss(
            jobId, events.Count, events[0].Seq, events[^1].Seq,
            events.Min(e => e.Event.OccurredAt!.Value), events.Max(e => e.Event.OccurredAt!.Value), reason);
        Interlocked.Add(ref lost, events.Count);
        EventsLost?.Invoke(loss);
        if (!losses.TryGetValue(jobId, out var pending))
        {
            losses[jobId] = pending = [];
        }

        // A record already tried may be stored under its key: never change it, start another.
        if (pending.Count > 0 && !pending[^1].Tried)
        {
            var merged = pending[^1].Loss;
            pending[^1] = new PendingLoss(merged with
            {
                Count = merged.Count + loss.Count,
                LastBufferSeq = loss.LastBufferSeq,
                From = merged.From < loss.From ? merged.From : loss.From,
                To = merged.To > loss.To ? merged.To : loss.To,
                Reason = loss.Reason,
            }, pending[^1].Key, Tried: false);
        }
        else
        {
            pending.Add(new PendingLoss(loss, JobTrailClient.NewIdempotencyKey(), Tried: false));
        }
    }

    /// <summary>Writes the pending loss records (of one job, or all); what fails stays pending.</summary>
    private async Task RecordLossesAsync(Guid? onlyJob)
    {
        foreach (var jobId in losses.Keys.Where(j => onlyJob is null || j == onlyJob).ToList())
        {
            var pending = losses[jobId];
            while (pending.Count > 0)
            {
                var record = pending[0] = pending[0] with { Tried = true };
                var loss = record.Loss;
                try
                {
                    await client.EmitEventAsync(jobId, NewJobEvent.Create(JobEventType.ClientEventsLost, new
                    {
                        count = loss.Count,
                        firstBufferSeq = loss.FirstBufferSeq,
                        lastBufferSeq = loss.LastBufferSeq,
                        from = loss.From.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                        to = loss.To.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                        reason = loss.Reason,
                    }), record.Key);
                    pending.RemoveAt(0);
                }
                catch (JobTrailApiException ex) when (IsFinal(ex))
                {
                    // The job's log no longer takes events (sealed or gone): LostCount and EventsLost told the application.
                    pending.RemoveAt(0);
                }
                catch (Exception ex) when (ex is JobTrailApiException or HttpRequestException or TimeoutRejectedException or TaskCanceledException or IOException)
                {
                    return;
                }
            }

            losses.Remove(jobId);
        }
    }

    /// <summary>A 4xx the same request will get again (not 408/429).</summary>
    private static bool IsFinal(JobTrailApiException ex) =>
        ex.StatusCode is >= 400 and < 500 && ex.Status is not HttpStatusCode.RequestTimeout and not HttpStatusCode.TooManyRequests;

    private static TimeSpan Jitter(TimeSpan delay) => delay * (0.5 + (Random.Shared.NextDouble() / 2));

    private sealed record Entry(Guid JobId, NewJobEvent? Event, TaskCompletionSource? Flush);

    private sealed record PendingLoss(EventLoss Loss, string Key, bool Tried);
}
