namespace JobTrail.BuildingBlocks.Valkey;

/// <summary>One entry of a job's recent-events stream: the event's seq and its JSON.</summary>
public sealed record StreamEntry(long Seq, string Json);

/// <summary>
/// Everything JobTrail asks of Valkey, in one place so the client library can change in one place.
/// Streams are keyed per job; ids are <c>&lt;seq&gt;-1</c>, so stream order is seq order.
/// </summary>
public interface IValkeyClient
{
    bool IsConnected { get; }

    /// <summary>
    /// Appends an event to its job's stream (trimmed to about <paramref name="maxLength"/>) and
    /// publishes it, atomically. An id not above the stream's last is skipped (returns false), so a
    /// re-sent event is neither stored nor published twice.
    /// </summary>
    Task<bool> AppendAndPublishAsync(string streamKey, string channel, long seq, string json, int maxLength);

    /// <summary>The newest <paramref name="count"/> entries, oldest first.</summary>
    Task<IReadOnlyList<StreamEntry>> ReadNewestAsync(string streamKey, int count);

    /// <summary>Entries with seq above <paramref name="afterSeq"/>, oldest first, at most <paramref name="count"/>.</summary>
    Task<IReadOnlyList<StreamEntry>> ReadAfterAsync(string streamKey, long afterSeq, int count);

    /// <summary>The lowest seq the stream still holds, or null when it holds nothing.</summary>
    Task<long?> OldestSeqAsync(string streamKey);

    Task ExpireAsync(string streamKey, TimeSpan ttl);

    /// <summary>Subscribes to a channel; dispose the result to unsubscribe.</summary>
    Task<IAsyncDisposable> SubscribeAsync(string channel, Action<string> onMessage);

    Task<TimeSpan> PingAsync();
}
