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

    internal IncrementalHash CreateMac() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, secret);
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

    /// <summary>
    /// Reads the ring from configuration. Without <c>JobTrail:Integrity:Key</c> it fails, unless
    /// <paramref name="allowGenerated"/> (Development, Testing): then a random key is made, and links
    /// written with it stop verifying once the process ends.
    /// </summary>
    public static IntegrityKeyRing From(IConfiguration configuration, bool allowGenerated)
    {
        var section = configuration.GetSection(Section);
        var text = section["Key"];
        if (string.IsNullOrWhiteSpace(text))
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

        var secret = Decode(text, $"{Section}:Key");
        var id = section["KeyId"] is { Length: > 0 } configuredId ? ValidId(configuredId, $"{Section}:KeyId") : IntegrityKey.DeriveId(secret);
        var previous = section.GetSection("PreviousKeys").GetChildren()
            .Where(child => !string.IsNullOrWhiteSpace(child.Value))
            .Select(child => new IntegrityKey(ValidId(child.Key, $"{Section}:PreviousKeys"), Decode(child.Value!, $"{Section}:PreviousKeys:{child.Key}")))
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
