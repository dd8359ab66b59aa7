using JobTrail.Modules.JobEvents.Persistence;

namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>
/// Events this instance's group writer is committing, exactly as PostgreSQL returned them, handed to
/// this instance's relay so that it need not read them back: a claimed outbox row whose append is here is
/// sent from memory, any other (a system event, another instance's emit, one evicted or lost with a
/// restart) is read from <c>job_events.events</c> as before. The outbox row stays the durable record of
/// what is still to be delivered; this is only a copy of rows already committed. Kept per append, under
/// the id of its first event, which is the id its outbox row points at: event ids are unique, so an entry
/// left by a group that failed can never be taken for another transaction's events.
/// Bounded: two generations of at most <see cref="GenerationSize"/> events or <see cref="GenerationBytes"/>
/// of payload each; when the current one is full, the older is dropped (its events were claimed by another
/// instance, or will be read back). Nothing is kept on an instance whose relay is off.
/// </summary>
internal sealed class CommittedEvents(RelayOptions options)
{
    public const int GenerationSize = 10_000;
    public const long GenerationBytes = 16L << 20;

    private readonly Lock gate = new();
    private Dictionary<Guid, IReadOnlyList<EventRecord>> current = [];
    private Dictionary<Guid, IReadOnlyList<EventRecord>> previous = [];
    private long currentEvents;
    private long currentBytes;
    private long taken;

    /// <summary>Events the relay took from here instead of reading them back (for tests and diagnostics).</summary>
    public long Taken => Interlocked.Read(ref taken);

    /// <summary>
    /// Adds what one group wrote, each request's events in seq order as its statement returned them, just before
    /// its COMMIT is sent: the relay can claim an outbox row only once it is committed, and a row never committed
    /// is never claimed.
    /// </summary>
    public void Add(IEnumerable<IReadOnlyList<EventRecord>> committed)
    {
        if (!options.Enabled)
        {
            return;
        }

        lock (gate)
        {
            foreach (var events in committed)
            {
                if (events.Count == 0)
                {
                    continue;
                }

                // A request written again alone after its group failed comes back under the same first id.
                if (current.Remove(events[0].Id, out var replaced))
                {
                    currentEvents -= replaced.Count;
                    currentBytes -= SizeOf(replaced);
                }

                var size = SizeOf(events);
                if (current.Count > 0 && (currentEvents + events.Count > GenerationSize || currentBytes + size > GenerationBytes))
                {
                    (previous, current) = (current, previous);
                    current.Clear();
                    currentEvents = 0;
                    currentBytes = 0;
                }

                current[events[0].Id] = events;
                currentEvents += events.Count;
                currentBytes += size;
            }
        }
    }

    private static long SizeOf(IReadOnlyList<EventRecord> events)
    {
        var size = 0L;
        foreach (var e in events)
        {
            size += 256 + (2L * (e.PayloadJson?.Length ?? 0));
        }

        return size;
    }

    /// <summary>
    /// Removes and returns the events of the append whose first event is <paramref name="firstId"/>, if this
    /// instance committed it recently.
    /// </summary>
    public bool TryTake(Guid firstId, out IReadOnlyList<EventRecord> stored)
    {
        lock (gate)
        {
            if (current.Remove(firstId, out stored!) || previous.Remove(firstId, out stored!))
            {
                Interlocked.Add(ref taken, stored.Count);
                return true;
            }

            return false;
        }
    }
}
