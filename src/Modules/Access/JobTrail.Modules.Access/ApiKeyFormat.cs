using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace JobTrail.Modules.Access;

/// <summary>
/// API keys read <c>jt_&lt;keyId as 32 hex&gt;_&lt;secret&gt;</c>. Only SHA-256 of the secret is stored;
/// the key id finds the row, the secret proves possession.
/// </summary>
internal static class ApiKeyFormat
{
    private const string Prefix = "jt_";

    public static (Guid KeyId, string Plaintext, byte[] SecretHash) Generate()
    {
        var keyId = Guid.CreateVersion7();
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        return (keyId, Format(keyId, secret), Hash(secret));
    }

    public static string Format(Guid keyId, string secret) => $"{Prefix}{keyId:N}_{secret}";

    public static bool TryParse(string? key, out Guid keyId, [NotNullWhen(true)] out string? secret)
    {
        keyId = Guid.Empty;
        secret = null;
        if (key is null || key.Length < Prefix.Length + 32 + 1 + 32 || key.Length > 200 || !key.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (key[Prefix.Length + 32] != '_' ||
            !Guid.TryParseExact(key.AsSpan(Prefix.Length, 32), "N", out keyId))
        {
            return false;
        }

        var candidate = key[(Prefix.Length + 33)..];
        if (!candidate.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            return false;
        }

        secret = candidate;
        return true;
    }

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static bool Matches(string secret, byte[] storedHash) =>
        CryptographicOperations.FixedTimeEquals(Hash(secret), storedHash);

    public static string Describe(Guid keyId) => keyId.ToString("N", CultureInfo.InvariantCulture);
}
