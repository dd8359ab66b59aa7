namespace JobTrail.Modules.Activity.Features.StreamActivity;

/// <summary>
/// Settings under <c>JobTrail:Activity:Stream</c>; intervals are TimeSpans ("00:00:15"). The caps on
/// open streams are the event stream's (<c>JobTrail:Events:Stream:MaxStreamsPerWorkspace</c>), shared.
/// </summary>
internal sealed class ActivityStreamOptions
{
    public const string Section = "JobTrail:Activity:Stream";

    /// <summary>How often an open stream asks PostgreSQL for rows that have become final.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A <c>: ping</c> comment this often keeps idle connections (and proxies) alive.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>retry:</c> hint: how long a client waits before reconnecting.</summary>
    public TimeSpan Retry { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>Rows read per query while catching up.</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>A stream ends after this long; the client reconnects and is authenticated again.</summary>
    public TimeSpan MaxDuration { get; set; } = TimeSpan.FromHours(1);
}
