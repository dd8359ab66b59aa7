using System.Text.Json;

namespace JobTrail.BuildingBlocks.Valkey;

/// <summary>
/// One entry of a job's recent-events stream as Valkey holds it: the seq (from the entry id), the
/// event JSON (field <c>e</c>, empty when the entry has none) and the writer's signature (field
/// <c>s</c>). Nothing here is trusted until the reader has verified it.
/// </summary>
public sealed record StreamEntry(long Seq, string Json, string? Signature)
{
    /// <summary>The emit's W3C traceparent (field <c>t</c>), for tracing only: never trusted for anything else.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>One event to append to a job's stream and publish; <see cref="Terminal"/> sets the stream's expiry.</summary>
public sealed record StreamAppend(long Seq, string Json, string Signature, bool Terminal)
{
    /// <summary>The emit's W3C traceparent, stored (<c>t</c>) and published (<c>tp</c>) beside the event when set.</summary>
    public string? TraceParent { get; init; }
}

/// <summary>
/// What an append did: the first <see cref="Handled"/> entries were stored or skipped as already
/// there (<see cref="Appended"/> of them were new); when <see cref="Error"/> is set, the entry after
/// them got that error reply and nothing after it was tried.
/// </summary>
public sealed record AppendOutcome(int Handled, int Appended, string? Error);

/// <summary>
/// A live message as published: <c>{"seq":&lt;seq&gt;,"sig":"&lt;signature&gt;","event":&lt;event JSON&gt;}</c>.
/// Parsing proves only its shape; the reader verifies the signature.
/// </summary>
public sealed record LiveMessage(long Seq, string Json, string Signature)
{
    /// <summary>The emit's W3C traceparent (<c>tp</c>), for tracing only.</summary>
    public string? TraceParent { get; init; }

    /// <summary>
    /// The seq a message says it carries, read from its <c>{"seq":</c> prefix without parsing the rest; false when the
    /// message does not start that way. Unverified: only for deciding that nobody needs the message, never to trust it.
    /// </summary>
    public static bool TryPeekSeq(string message, out long seq)
    {
        const string Prefix = "{\"seq\":";
        seq = 0;
        if (!message.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var i = Prefix.Length;
        var digits = 0;
        for (; i < message.Length && message[i] is >= '0' and <= '9'; i++, digits++)
        {
            if (digits == 18)
            {
                return false;
            }

            seq = seq * 10 + (message[i] - '0');
        }

        return digits > 0 && i < message.Length && message[i] == ',';
    }

    /// <summary>The message's parts, or null when it is not in the published shape.</summary>
    public static LiveMessage? TryParse(string message)
    {
        try
        {
            using var document = JsonDocument.Parse(message);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && root.TryGetProperty("seq", out var seq) && seq.ValueKind == JsonValueKind.Number && seq.TryGetInt64(out var value)
                && root.TryGetProperty("sig", out var sig) && sig.ValueKind == JsonValueKind.String
                && root.TryGetProperty("event", out var json) && json.ValueKind == JsonValueKind.Object
                ? new LiveMessage(value, json.GetRawText(), sig.GetString()!)
                {
                    TraceParent = root.TryGetProperty("tp", out var tp) && tp.ValueKind == JsonValueKind.String ? tp.GetString() : null,
                }
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>
/// Everything JobTrail asks of Valkey, in one place so the client library can change in one place.
/// Streams are keyed per job; ids are <c>&lt;seq&gt;-1</c>, so stream order is seq order.
/// </summary>
public interface IValkeyClient
{
    bool IsConnected { get; }

    /// <summary>
    /// Appends a job's events, in order, to its stream (trimmed to about <paramref name="maxLength"/>)
    /// and publishes each, atomically per event, in one round trip. An id not above the stream's last
    /// is skipped (neither stored nor published again). The first error reply stops the run: nothing
    /// after it is tried, so a later event never overtakes an earlier one. A terminal event sets the
    /// stream's expiry to <paramref name="terminalTtl"/>.
    /// </summary>
    Task<AppendOutcome> AppendAndPublishAsync(string streamKey, string channel, IReadOnlyList<StreamAppend> entries, int maxLength, TimeSpan terminalTtl);

    /// <summary>The newest <paramref name="count"/> entries, oldest first.</summary>
    Task<IReadOnlyList<StreamEntry>> ReadNewestAsync(string streamKey, int count);

    /// <summary>Entries with seq above <paramref name="afterSeq"/>, oldest first, at most <paramref name="count"/>.</summary>
    Task<IReadOnlyList<StreamEntry>> ReadAfterAsync(string streamKey, long afterSeq, int count);

    /// <summary>The lowest seq the stream still holds, or null when it holds nothing.</summary>
    Task<long?> OldestSeqAsync(string streamKey);

    Task ExpireAsync(string streamKey, TimeSpan ttl);

    /// <summary>
    /// Subscribes to a channel (a literal name, never a pattern); messages arrive one at a time, in
    /// the order published. Fails while Valkey is down; once made, the subscription survives
    /// reconnects. Dispose the result to unsubscribe.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(string channel, Action<string> onMessage);

    /// <summary>Publishes <paramref name="message"/> on a channel; false when Valkey did not take it (down, timed out).</summary>
    Task<bool> PublishAsync(string channel, string message);

    Task<TimeSpan> PingAsync();

    /// <summary>
    /// Puts back <paramref name="givenBack"/> unused tokens, then takes up to <paramref name="wanted"/> tokens (as many
    /// whole ones as are there) from the bucket at <paramref name="key"/> (shared by every instance): it holds at most
    /// <paramref name="burst"/> tokens and gains <paramref name="perPeriod"/> every <paramref name="period"/>, counted on
    /// the server's clock. One round trip, atomic.
    /// </summary>
    Task<TokenTake> TakeTokensAsync(string key, int burst, int perPeriod, TimeSpan period, int wanted, int givenBack);

    /// <summary>
    /// Adds lease <paramref name="leaseId"/> to the live-stream leases of a workspace (<paramref name="workspaceKey"/>) and,
    /// when <paramref name="apiKeyKey"/> is set, of an API key, unless either already holds its cap of unexpired leases.
    /// Both keys must share a hash slot. Expired leases (of instances that died) are dropped first.
    /// </summary>
    Task<SlotRefusal> TryLeaseAsync(string workspaceKey, string? apiKeyKey, string leaseId, int maxPerWorkspace, int maxPerKey, TimeSpan ttl);

    /// <summary>Extends held leases to <paramref name="ttl"/> from now (a lease that already expired is not brought back).</summary>
    Task RenewLeasesAsync(IReadOnlyList<(string WorkspaceKey, string? ApiKeyKey, string LeaseId)> leases, TimeSpan ttl);

    /// <summary>Gives a lease back.</summary>
    Task ReleaseLeaseAsync(string workspaceKey, string? apiKeyKey, string leaseId);
}

/// <summary>What a shared token bucket said: how many tokens were taken, or (none taken) when the next one will be there.</summary>
public readonly record struct TokenTake(int Taken, TimeSpan RetryAfter);

/// <summary>Which cap refused a stream.</summary>
public enum SlotRefusal
{
    None,
    Workspace,
    Key,
}

/// <summary>Tells Valkey's own trouble (unreachable, loading, out of memory, refusing auth…) from an error of one key.</summary>
public static class ValkeyErrors
{
    // Error reply prefixes that say something about the server, not about the key a command touched.
    private static readonly string[] ServerWidePrefixes =
    [
        "LOADING", "BUSY", "NOAUTH", "WRONGPASS", "NOPERM", "READONLY", "OOM", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN",
        "MISCONF", "NOREPLICAS", "NOSCRIPT", "MOVED", "ASK", "CROSSSLOT", "ERR max number of clients",
    ];

    /// <summary>
    /// True when <paramref name="error"/> (an error reply's text) is the server's condition, which
    /// every key would meet alike; false for an error of the key itself, such as WRONGTYPE.
    /// </summary>
    public static bool IsServerWide(string error)
    {
        var text = error.TrimStart();
        foreach (var prefix in ServerWidePrefixes)
        {
            if (text.StartsWith(prefix, StringComparison.Ordinal)
                && (text.Length == prefix.Length || !char.IsAsciiLetter(text[prefix.Length])))
            {
                return true;
            }
        }

        return false;
    }
}
