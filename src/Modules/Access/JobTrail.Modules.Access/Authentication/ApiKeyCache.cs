using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>
/// SHA-256 over a presented key's id and secret: what the cache is keyed by, so the secret itself is
/// never held in memory beyond the request that presented it.
/// </summary>
internal readonly record struct KeyDigest(UInt128 High, UInt128 Low)
{
    public static KeyDigest Of(Guid keyId, string secret)
    {
        Span<byte> input = stackalloc byte[16 + Encoding.UTF8.GetMaxByteCount(secret.Length)];
        keyId.TryWriteBytes(input);
        var length = 16 + Encoding.UTF8.GetBytes(secret, input[16..]);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(input[..length], hash);
        return new KeyDigest(BinaryPrimitives.ReadUInt128BigEndian(hash), BinaryPrimitives.ReadUInt128BigEndian(hash[16..]));
    }
}

/// <summary>
/// What a verified, unrevoked key grants, and the principal every request presenting it is given: built once
/// with the key, not per request (nothing in the service adds identities or claims to a request's principal,
/// and it is the same for every request of the key).
/// </summary>
internal sealed record VerifiedKey(Guid KeyId, Guid WorkspaceId, string ActorId, string[] Scopes)
{
    public ClaimsPrincipal Principal { get; } = Build(KeyId, WorkspaceId, ActorId, Scopes);

    private static ClaimsPrincipal Build(Guid keyId, Guid workspaceId, string actorId, string[] scopes)
    {
        var claims = new List<Claim>(3 + scopes.Length)
        {
            new(ClaimTypes.NameIdentifier, actorId),
            new("workspace_id", workspaceId.ToString()),
            new("key_id", keyId.ToString()),
        };
        foreach (var scope in scopes)
        {
            claims.Add(new Claim("scope", scope));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, AccessAuthentication.Scheme));
    }
}

/// <summary>
/// Verified API keys, keyed by <see cref="KeyDigest"/>, each trusted for at most
/// <see cref="AccessOptions.KeyCacheMaxAge"/> from the moment its row was read. Only keys that
/// verified and were not revoked are held; eviction only ever removes. A key read before an eviction
/// and stored after it is not stored, so a revocation cannot be undone by a lookup that raced it.
/// </summary>
internal sealed class ApiKeyCache(AccessOptions options, TimeProvider clock)
{
    // Expired entries of keys nobody presents again are swept now and then, not on every add.
    private const int SweepEvery = 1024;
    private readonly ConcurrentDictionary<KeyDigest, Entry> entries = new();
    private readonly long maxAgeTicks = (long)(options.KeyCacheMaxAge.TotalSeconds * clock.TimestampFrequency);
    private long evictions;
    private long hits;
    private long adds;

    public bool Enabled => maxAgeTicks > 0;

    /// <summary>Requests answered from the cache since start-up.</summary>
    public long Hits => Interlocked.Read(ref hits);

    public int Count => entries.Count;

    /// <summary>Taken before a key is read from the database; hand it to <see cref="Add"/>.</summary>
    public Ticket Begin() => new(Interlocked.Read(ref evictions), clock.GetTimestamp());

    public bool TryGet(KeyDigest digest, out VerifiedKey key)
    {
        if (entries.TryGetValue(digest, out var entry))
        {
            if (clock.GetTimestamp() < entry.ExpiresAt)
            {
                Interlocked.Increment(ref hits);
                key = entry.Key;
                return true;
            }

            entries.TryRemove(new KeyValuePair<KeyDigest, Entry>(digest, entry));
        }

        key = null!;
        return false;
    }

    public void Add(KeyDigest digest, VerifiedKey key, Ticket ticket)
    {
        if (!Enabled)
        {
            return;
        }

        var entry = new Entry(key, ticket.ReadAt + maxAgeTicks);
        entries[digest] = entry;
        // An eviction since the read may have been for this key: drop what was just stored.
        if (Interlocked.Read(ref evictions) != ticket.Evictions)
        {
            entries.TryRemove(new KeyValuePair<KeyDigest, Entry>(digest, entry));
        }

        if (Interlocked.Increment(ref adds) % SweepEvery == 0)
        {
            Sweep();
        }
    }

    /// <summary>Forgets every entry of the key (there is at most one: only its true secret is ever stored).</summary>
    public void Evict(Guid keyId)
    {
        Interlocked.Increment(ref evictions);
        foreach (var (digest, entry) in entries)
        {
            if (entry.Key.KeyId == keyId)
            {
                entries.TryRemove(new KeyValuePair<KeyDigest, Entry>(digest, entry));
            }
        }
    }

    private void Sweep()
    {
        var now = clock.GetTimestamp();
        foreach (var (digest, entry) in entries)
        {
            if (now >= entry.ExpiresAt)
            {
                entries.TryRemove(new KeyValuePair<KeyDigest, Entry>(digest, entry));
            }
        }
    }

    internal readonly record struct Ticket(long Evictions, long ReadAt);

    private sealed record Entry(VerifiedKey Key, long ExpiresAt);
}
