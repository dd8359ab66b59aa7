using System.Security.Cryptography;
using Microsoft.Extensions.Configuration;

namespace JobTrail.BuildingBlocks.Integrity;

/// <summary>One HMAC key and the id stored with every link it makes.</summary>
public sealed class IntegrityKey
{
    public const int MinimumBytes = 32;

    private readonly byte[] secret;

    public IntegrityKey(string id, byte[] secret)
    {
        if (secret.Length < MinimumBytes)
        {
            throw new ArgumentException($"An integrity key must be at least {MinimumBytes} bytes (got {secret.Length}).", nameof(secret));
        }

        Id = id;
        this.secret = (byte[])secret.Clone();
    }

    public string Id { get; }

    /// <summary>The first 8 hex digits of the key's SHA-256: names a key without revealing it.</summary>
    public static string DeriveId(byte[] secret) => Convert.ToHexStringLower(SHA256.HashData(secret))[..8];

    // One keyed HMAC per thread, reused: the one-shot HMACSHA256.HashData sets the key up again on every call,
    // which costs more than hashing a link's few hundred bytes.
    [ThreadStatic]
    private static IncrementalHash? threadMac;

    [ThreadStatic]
    private static IntegrityKey? threadMacKey;

    /// <summary>HMAC-SHA-256 of <paramref name="data"/> with this key.</summary>
    internal byte[] Mac(ReadOnlySpan<byte> data)
    {
        if (!ReferenceEquals(threadMacKey, this) || threadMac is null)
        {
            threadMac?.Dispose();
            threadMac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
            threadMacKey = this;
        }

        try
        {
            threadMac.AppendData(data);
            return threadMac.GetHashAndReset();
        }
        catch
        {
            // Never leave half-fed data in the thread's HMAC for its next caller.
            threadMac.Dispose();
            threadMac = null;
            threadMacKey = null;
            throw;
        }
    }
}

/// <summary>
/// The keys of the hash chains, from configuration only (never from the database):
/// <c>JobTrail:Integrity:Key</c> (base64, at least 32 bytes) signs new links under
/// <c>JobTrail:Integrity:KeyId</c> (default: <see cref="IntegrityKey.DeriveId"/>);
/// <c>JobTrail:Integrity:PreviousKeys:&lt;id&gt;</c> (base64) keep verifying links made before a rotation.
/// </summary>
public sealed class IntegrityKeyRing
{
    public const string Section = "JobTrail:Integrity";

    private readonly Dictionary<string, IntegrityKey> keys;

    public IntegrityKeyRing(IntegrityKey current, IEnumerable<IntegrityKey>? previous = null, bool isGenerated = false)
    {
        Current = current;
        IsGenerated = isGenerated;
        keys = new Dictionary<string, IntegrityKey>(StringComparer.Ordinal) { [current.Id] = current };
        foreach (var key in previous ?? [])
        {
            if (!keys.TryAdd(key.Id, key))
            {
                throw new InvalidOperationException($"Two integrity keys have the id '{key.Id}'.");
            }
        }
    }

    /// <summary>The key new links are made with.</summary>
    public IntegrityKey Current { get; }

    /// <summary>True when no key was configured and a throw-away one was made (Development and Testing only).</summary>
    public bool IsGenerated { get; }

    public IReadOnlyCollection<string> KeyIds => keys.Keys;

    public bool TryGet(string keyId, out IntegrityKey key) => keys.TryGetValue(keyId, out key!);

    /// <summary>Reads the ring from the <c>JobTrail:Integrity</c> section (see <see cref="From(IntegrityOptions, bool)"/>).</summary>
    public static IntegrityKeyRing From(IConfiguration configuration, bool allowGenerated) =>
        From(configuration.GetSection(Section).Get<IntegrityOptions>() ?? new IntegrityOptions(), allowGenerated);

    /// <summary>
    /// Builds the ring from its settings. Without <c>JobTrail:Integrity:Key</c> it fails, unless
    /// <paramref name="allowGenerated"/> (Development, Testing): then a random key is made, and links
    /// written with it stop verifying once the process ends. A malformed setting throws, naming it.
    /// </summary>
    public static IntegrityKeyRing From(IntegrityOptions options, bool allowGenerated)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Key))
        {
            if (!allowGenerated)
            {
                throw new InvalidOperationException(
                    "JobTrail:Integrity:Key is not set, and JobTrail will not run without it outside Development. " +
                    "Set the environment variable JobTrail__Integrity__Key to a random base64 key of at least 32 bytes " +
                    "(for example: head -c 32 /dev/urandom | base64). It signs the event and activity hash chains; keep it " +
                    "out of the database and its backups (scripts/run.sh makes one for development).");
            }

            var generated = RandomNumberGenerator.GetBytes(IntegrityKey.MinimumBytes);
            return new IntegrityKeyRing(new IntegrityKey("gen-" + IntegrityKey.DeriveId(generated), generated), isGenerated: true);
        }

        var secret = Decode(options.Key, $"{Section}:Key");
        var id = options.KeyId is { Length: > 0 } configuredId ? ValidId(configuredId, $"{Section}:KeyId") : IntegrityKey.DeriveId(secret);
        var previous = options.PreviousKeys
            .Where(entry => !string.IsNullOrWhiteSpace(entry.Value))
            .Select(entry => new IntegrityKey(ValidId(entry.Key, $"{Section}:PreviousKeys"), Decode(entry.Value!, $"{Section}:PreviousKeys:{entry.Key}")))
            .ToList();
        return new IntegrityKeyRing(new IntegrityKey(id, secret), previous);
    }

    private static byte[] Decode(string text, string name)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(text.Trim());
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"{name} is not valid base64.", ex);
        }

        return bytes.Length >= IntegrityKey.MinimumBytes
            ? bytes
            : throw new InvalidOperationException($"{name} is {bytes.Length} bytes; an integrity key must be at least {IntegrityKey.MinimumBytes} bytes.");
    }

    private static string ValidId(string id, string name) =>
        id.Length is > 0 and <= 64 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? id
            : throw new InvalidOperationException($"{name}: a key id is 1-64 characters of letters, digits, '-', '_' and '.' (got '{id}').");
}

/// <summary>
/// The <c>JobTrail:Integrity</c> settings: <c>Key</c> (base64, at least 32 bytes), <c>KeyId</c> (optional) and
/// <c>PreviousKeys:&lt;id&gt;</c> (base64). Checked at start-up by building the <see cref="IntegrityKeyRing"/>.
/// </summary>
public sealed class IntegrityOptions
{
    public const string Section = IntegrityKeyRing.Section;

    public string? Key { get; set; }

    public string? KeyId { get; set; }

    public Dictionary<string, string?> PreviousKeys { get; } = new(StringComparer.Ordinal);
}
