using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace JobTrail.BuildingBlocks.Integrity;

/// <summary>
/// The unambiguous field encoding every digest and link hash is computed over. Each field is a tag
/// byte and its value: <c>00</c> null; <c>01</c> text (4-byte big-endian length, UTF-8 bytes);
/// <c>02</c> bytes (4-byte big-endian length, the bytes); <c>03</c> a 64-bit integer (8 bytes,
/// big-endian). UUIDs are text in lower-case 8-4-4-4-12 form; times are text
/// <c>yyyy-MM-ddTHH:mm:ss.ffffffZ</c> (UTC, microseconds, as PostgreSQL stores them).
/// </summary>
public sealed class ChainEncoding : IDisposable
{
    private readonly IncrementalHash hash;
    private readonly byte[] scratch = new byte[9];

    private ChainEncoding(IncrementalHash hash) => this.hash = hash;

    public static ChainEncoding Sha256() => new(IncrementalHash.CreateHash(HashAlgorithmName.SHA256));

    public static ChainEncoding Hmac(IntegrityKey key) => new(key.CreateMac());

    public ChainEncoding Text(string? value)
    {
        if (value is null)
        {
            return Null();
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        return Prefixed(0x01, bytes);
    }

    public ChainEncoding Bytes(byte[]? value) => value is null ? Null() : Prefixed(0x02, value);

    public ChainEncoding Int64(long value)
    {
        scratch[0] = 0x03;
        BinaryPrimitives.WriteInt64BigEndian(scratch.AsSpan(1, 8), value);
        hash.AppendData(scratch, 0, 9);
        return this;
    }

    public ChainEncoding Uuid(Guid? value) => Text(value?.ToString("D"));

    public ChainEncoding Time(DateTime? value) => Text(value is { } at ? FormatTime(at) : null);

    public byte[] Finish() => hash.GetHashAndReset();

    public void Dispose() => hash.Dispose();

    /// <summary>UTC, microseconds: <c>2026-01-15T10:00:00.123456Z</c>.</summary>
    public static string FormatTime(DateTime at)
    {
        var utc = at.Kind == DateTimeKind.Local ? at.ToUniversalTime() : at;
        return utc.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", CultureInfo.InvariantCulture);
    }

    private ChainEncoding Null()
    {
        scratch[0] = 0x00;
        hash.AppendData(scratch, 0, 1);
        return this;
    }

    private ChainEncoding Prefixed(byte tag, byte[] bytes)
    {
        scratch[0] = tag;
        BinaryPrimitives.WriteInt32BigEndian(scratch.AsSpan(1, 4), bytes.Length);
        hash.AppendData(scratch, 0, 5);
        hash.AppendData(bytes);
        return this;
    }
}
