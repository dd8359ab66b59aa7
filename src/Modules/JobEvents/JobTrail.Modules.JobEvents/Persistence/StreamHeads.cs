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
    private readonly Dictionary<Guid, (Guid Workspace, ChainHead Head)> heads = [];
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
            var found = heads.TryGetValue(jobId, out var entry);
            head = entry.Head;
            return found;
        }
    }

    /// <summary>
    /// The head to write the job's next group ahead from: only for the workspace that committed it (a request of another
    /// workspace naming the job is written the reading way, which answers 404, and cannot make the job's own appends
    /// wait out a quiet period), and not within the quiet period after it was found moved.
    /// </summary>
    public bool TryGetAhead(Guid workspaceId, Guid jobId, long nowMilliseconds, out ChainHead head)
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

            if (heads.TryGetValue(jobId, out var entry) && entry.Workspace == workspaceId)
            {
                head = entry.Head;
                return true;
            }

            head = default;
            return false;
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

    public void Set(Guid workspaceId, Guid jobId, ChainHead head)
    {
        lock (gate)
        {
            if (heads.Count >= Capacity && !heads.ContainsKey(jobId))
            {
                heads.Clear();
            }

            heads[jobId] = (workspaceId, head);
        }
    }

    /// <summary>
    /// Forgets the job's head when <paramref name="workspaceId"/> committed it: an append of that workspace wrote
    /// nothing (a sealed stream) or failed. Another workspace's request naming the job changes nothing here.
    /// </summary>
    public void Forget(Guid workspaceId, Guid jobId)
    {
        lock (gate)
        {
            if (heads.TryGetValue(jobId, out var entry) && entry.Workspace == workspaceId)
            {
                heads.Remove(jobId);
            }
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
