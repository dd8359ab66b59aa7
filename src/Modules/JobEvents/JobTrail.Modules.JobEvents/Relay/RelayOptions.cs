namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>Settings under <c>JobTrail:Relay</c>; every interval is a TimeSpan ("00:00:01").</summary>
internal sealed record RelayOptions
{
    public int BatchSize { get; init; } = 1000;
    public int StreamMaxLength { get; init; } = 1000;
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>How often an instance looks at the live instances and takes free partitions or gives up extra ones.</summary>
    public TimeSpan StandbyPollInterval { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(100);
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan TerminalStreamTtl { get; init; } = TimeSpan.FromDays(1);
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Partitions of the outbox (a job's partition is hash(job id) mod this); each is relayed by one
    /// live instance at a time. Every instance must use the same value.
    /// </summary>
    public int Partitions { get; init; } = 16;

    /// <summary>
    /// How often a row that fails for a reason of its own (an error reply about its job's key) is
    /// tried before it is parked; the retries wait MinBackoff, doubling up to MaxBackoff.
    /// </summary>
    public int MaxAttempts { get; init; } = 5;

    public const string Section = "JobTrail:Relay";
}

/// <summary>
/// Valkey key names, per job so that a cluster can spread them. The braces are a hash tag: a job's stream
/// and channel hash to one slot, so the append script (which touches the stream and publishes on the
/// channel) runs on one cluster node. Streams written under the earlier, untagged names
/// (<c>jobtrail:job:&lt;id&gt;:events</c>) are no longer read: a reader that finds the new stream short
/// backfills from PostgreSQL, so nothing is lost; the old keys expire or can be deleted.
/// </summary>
internal static class ValkeyKeys
{
    public static string Stream(Guid jobId) => $"jobtrail:{{job:{jobId:N}}}:events";

    public static string Channel(Guid jobId) => $"jobtrail:{{job:{jobId:N}}}:live";
}
