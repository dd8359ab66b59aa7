namespace JobTrail.Modules.JobEvents.Persistence;

/// <summary>A job's head: the seq of its last event and the hash of that event's chain link.</summary>
internal readonly record struct ChainHead(long Seq, byte[]? Hash);

/// <summary>
/// Each job's head as this instance's group writer last committed it, so that its next group can make the chain
/// links before PostgreSQL answers and travel in one round trip (ADR 0046). Only a hint: the statement that relies
/// on it checks it against the stream row it locks, and a head that moved on (a system event, another instance, a
/// seal) costs that group one refused statement before it is written the way that reads the head first. A job whose
/// head was found moved is not written ahead for <see cref="QuietMilliseconds"/> after that (instances that take turns
/// on one job would otherwise pay a refused statement on every append). At most <see cref="Capacity"/> jobs of each;
/// past that it starts again empty.
/// </summary>
internal sealed class StreamHeads
{
    public const int Capacity = 10_000;
    public const long QuietMilliseconds = 10_000;

    private readonly Lock gate = new();
    private readonly Dictionary<Guid, ChainHead> heads = [];
    private readonly Dictionary<Guid, long> movedAt = [];

    public int Count
    {
        get
        {
            lock (gate)
            {
                return heads.Count;
            }
        }
    }

    public bool TryGet(Guid jobId, out ChainHead head)
    {
        lock (gate)
        {
            return heads.TryGetValue(jobId, out head);
        }
    }

    /// <summary>The head to write the job's next group ahead from, unless it was found moved less than the quiet period ago.</summary>
    public bool TryGetAhead(Guid jobId, long nowMilliseconds, out ChainHead head)
    {
        lock (gate)
        {
            if (movedAt.TryGetValue(jobId, out var at))
            {
                if (nowMilliseconds - at < QuietMilliseconds)
                {
                    head = default;
                    return false;
                }

                movedAt.Remove(jobId);
            }

            return heads.TryGetValue(jobId, out head);
        }
    }

    /// <summary>A group written ahead found the job's head elsewhere: forget it, and write the job the reading way for a while.</summary>
    public void Moved(Guid jobId, long nowMilliseconds)
    {
        lock (gate)
        {
            heads.Remove(jobId);
            if (movedAt.Count >= Capacity)
            {
                movedAt.Clear();
            }

            movedAt[jobId] = nowMilliseconds;
        }
    }

    public void Set(Guid jobId, ChainHead head)
    {
        lock (gate)
        {
            if (heads.Count >= Capacity && !heads.ContainsKey(jobId))
            {
                heads.Clear();
            }

            heads[jobId] = head;
        }
    }

    /// <summary>Called before anything else appends to the job's stream here (its system events).</summary>
    public void Forget(Guid jobId)
    {
        lock (gate)
        {
            heads.Remove(jobId);
        }
    }
}
