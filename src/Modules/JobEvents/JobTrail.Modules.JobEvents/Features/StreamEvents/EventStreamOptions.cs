namespace JobTrail.Modules.JobEvents.Features.StreamEvents;

/// <summary>Settings under <c>JobTrail:Events:Stream</c>; intervals are TimeSpans ("00:00:15").</summary>
internal sealed record EventStreamOptions
{
    /// <summary>A <c>: ping</c> comment this often keeps idle connections (and proxies) alive.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>retry:</c> hint: how long a client waits before reconnecting.</summary>
    public TimeSpan Retry { get; init; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// While subscribed, PostgreSQL is still checked this often, in case a live message was lost: one
    /// shared statement per workspace with open streams (<see cref="JobEventHub.CheckAsync"/>), not one per stream.
    /// </summary>
    public TimeSpan CatchUpInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Without a live subscription (Valkey down), PostgreSQL is polled this often.</summary>
    public TimeSpan OfflinePollInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Events buffered per client; a client that falls further behind is disconnected and resumes.</summary>
    public int ClientBuffer { get; init; } = 1024;

    public int MaxStreamsPerWorkspace { get; init; } = 100;

    /// <summary>The share (0..1) of <see cref="MaxStreamsPerWorkspace"/> one API key may hold; at least one stream.</summary>
    public double MaxShareOfWorkspacePerKey { get; init; } = 0.5;

    public int PageSize { get; init; } = 1000;

    /// <summary>
    /// Events this instance's group writer commits are offered to this instance's streams as soon as the COMMIT
    /// returns, ahead of the relay's copy through Valkey (which then only confirms them). Off: every live event
    /// comes through Valkey Pub/Sub, as on the other instances.
    /// </summary>
    public bool LocalDelivery { get; init; } = true;

    /// <summary>
    /// A stream ends after this long even if its job has not; the client reconnects (and is
    /// authenticated again, so a revoked key stops streaming).
    /// </summary>
    public TimeSpan MaxDuration { get; init; } = TimeSpan.FromHours(1);

    public const string Section = "JobTrail:Events:Stream";
}
