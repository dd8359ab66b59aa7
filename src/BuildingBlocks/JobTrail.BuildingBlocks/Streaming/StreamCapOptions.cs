namespace JobTrail.BuildingBlocks.Streaming;

/// <summary>
/// The caps every live stream counts against, read from <c>JobTrail:Events:Stream</c> where operators
/// have always set them: one budget per workspace for event streams and the activity feed together,
/// shared by every instance through Valkey.
/// </summary>
public sealed class StreamCapOptions
{
    public const string Section = "JobTrail:Events:Stream";

    public int MaxStreamsPerWorkspace { get; set; } = 100;

    /// <summary>The share (0..1) of <see cref="MaxStreamsPerWorkspace"/> one API key may hold; at least one stream.</summary>
    public double MaxShareOfWorkspacePerKey { get; set; } = 0.5;

    /// <summary>
    /// How long a stream's shared lease lives unless renewed (every third of it while the stream is open), so
    /// that the slots of an instance that died free themselves within this time.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);
}
