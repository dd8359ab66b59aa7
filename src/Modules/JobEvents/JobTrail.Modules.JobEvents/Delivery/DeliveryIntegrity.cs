using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using JobTrail.BuildingBlocks.Behaviors;

namespace JobTrail.Modules.JobEvents.Delivery;

/// <summary>An event as it travels to clients: its seq, its type and its JSON, parsed once.</summary>
internal sealed record LiveEvent(long Seq, string Type, string Json)
{
    /// <summary>When the event was recorded (committed), for the delivery latency; null when unknown.</summary>
    public DateTime? RecordedAt { get; init; }

    /// <summary>The emit's W3C traceparent, for the delivery span; null when unknown.</summary>
    public string? TraceParent { get; init; }

    /// <summary>
    /// Put in a listener's buffer when a message for its job did not verify: not an event, a hint to
    /// read PostgreSQL soon in case a real event was lost with it.
    /// </summary>
    public static readonly LiveEvent Unverified = new(0, string.Empty, string.Empty);

    private byte[]? frame;

    /// <summary>
    /// The event's SSE frame in UTF-8, made once however many subscribers the event reaches (one
    /// instance is offered to every listener of the job); a race only makes the same bytes twice.
    /// </summary>
    public byte[] Frame => frame ??= System.Text.Encoding.UTF8.GetBytes(
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"id: {Seq}\nevent: {Type}\ndata: {Json}\n\n"));
}

/// <summary>
/// Signs what the relay writes to Valkey and checks what readers get back, so that nothing from
/// Valkey is served unless it is provably this job's event. A signature is
/// <c>&lt;keyId&gt;:&lt;base64 HMAC-SHA-256&gt;</c> with a key of the integrity ring over
/// <see cref="ChainEncoding"/> fields: the tag <c>jobtrail.delivery.v1</c>, the job id, the
/// workspace id, the seq and the exact event JSON. Keys named by an older id keep verifying after a
/// rotation (<c>JobTrail:Integrity:PreviousKeys</c>). Anything that does not verify is counted
/// (<c>jobtrail.valkey.rejected</c>) and the reader serves PostgreSQL instead.
/// </summary>
internal sealed class DeliveryIntegrity
{
    public const string Tag = "jobtrail.delivery.v1";

    /// <summary>Where a rejected entry came from: a stream read, or a live Pub/Sub message.</summary>
    public const string FromStream = "stream";
    public const string FromLive = "live";

    private static readonly Meter Meter = new(PipelineMetrics.MeterName);
    private readonly IntegrityKeyRing keys;
    private readonly ILogger<DeliveryIntegrity> logger;
    private readonly Counter<long> rejectedCounter;
    private long rejected;

    public DeliveryIntegrity(IntegrityKeyRing keys, ILogger<DeliveryIntegrity> logger)
    {
        this.keys = keys;
        this.logger = logger;
        rejectedCounter = Meter.CreateCounter<long>(
            "jobtrail.valkey.rejected", description: "Entries and messages read from Valkey that did not verify; PostgreSQL answered instead");
    }

    /// <summary>Entries and messages this instance refused since it started.</summary>
    public long Rejected => Interlocked.Read(ref rejected);

    public string Sign(Guid jobId, Guid workspaceId, long seq, string json)
    {
        var key = keys.Current;
        return key.Id + ":" + Convert.ToBase64String(Mac(key, jobId, workspaceId, seq, json));
    }

    /// <summary>
    /// The event, when <paramref name="signature"/> proves that <paramref name="json"/> is the event
    /// <paramref name="seq"/> of this job in this workspace (and the JSON says the same); otherwise
    /// null, counted and logged.
    /// </summary>
    public LiveEvent? Verify(Guid jobId, Guid workspaceId, long seq, string json, string? signature, string source)
    {
        var reason = Check(jobId, workspaceId, seq, json, signature, out var live);
        if (reason is null)
        {
            return live;
        }

        Interlocked.Increment(ref rejected);
        rejectedCounter.Add(1, new KeyValuePair<string, object?>("source", source), new KeyValuePair<string, object?>("reason", reason));
        logger.LogWarning(
            "Ignored a {Source} entry for job {JobId} seq {Seq} from Valkey that did not verify ({Reason}); PostgreSQL answers instead",
            source, jobId, seq, reason);
        return null;
    }

    private string? Check(Guid jobId, Guid workspaceId, long seq, string json, string? signature, out LiveEvent? live)
    {
        live = null;
        if (seq < 1 || string.IsNullOrEmpty(signature))
        {
            return "unsigned";
        }

        var colon = signature.LastIndexOf(':');
        if (colon <= 0 || !keys.TryGet(signature[..colon], out var key))
        {
            return "unknown_key";
        }

        var mac = new byte[32];
        if (!Convert.TryFromBase64String(signature[(colon + 1)..], mac, out var written) || written != mac.Length
            || !CryptographicOperations.FixedTimeEquals(mac, Mac(key, jobId, workspaceId, seq, json)))
        {
            return "signature";
        }

        // Signed by the relay, so this holds unless the relay is wrong; checked because it is cheap.
        try
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("seq", out var s) || !s.TryGetInt64(out var eventSeq) || eventSeq != seq
                || !root.TryGetProperty("jobId", out var j) || !j.TryGetGuid(out var eventJob) || eventJob != jobId
                || !root.TryGetProperty("workspaceId", out var w) || !w.TryGetGuid(out var eventWorkspace) || eventWorkspace != workspaceId
                || !root.TryGetProperty("type", out var t) || t.ValueKind != JsonValueKind.String)
            {
                return "mismatch";
            }

            live = new LiveEvent(seq, t.GetString()!, json)
            {
                RecordedAt = root.TryGetProperty("recordedAt", out var r) && r.TryGetDateTime(out var recordedAt) ? recordedAt.ToUniversalTime() : null,
            };
            return null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            return "mismatch";
        }
    }

    private static byte[] Mac(IntegrityKey key, Guid jobId, Guid workspaceId, long seq, string json)
    {
        using var encoding = ChainEncoding.Hmac(key);
        return encoding.Text(Tag).Uuid(jobId).Uuid(workspaceId).Int64(seq).Text(json).Finish();
    }
}
