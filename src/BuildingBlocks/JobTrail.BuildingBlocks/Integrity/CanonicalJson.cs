using System.Buffers;
using System.Text;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace JobTrail.BuildingBlocks.Integrity;

/// <summary>
/// One byte sequence per JSON value, whatever its whitespace or property order: objects with their
/// properties sorted by name (ordinal, UTF-16 code units, as RFC 8785 does), no whitespace, strings
/// escaped only where JSON requires it (<c>"</c>, <c>\</c>, control characters), numbers written as
/// they are given. Chains hash the JSON that PostgreSQL gives back from <c>jsonb</c>, so numbers are
/// already in its normal form (<c>1e2</c> is stored and read back as <c>100</c>).
/// </summary>
public static class CanonicalJson
{
    /// <summary>Deeper than anything the API accepts (32), so stored JSON is never refused here.</summary>
    public const int MaxDepth = 1000;

    private static readonly JsonDocumentOptions ReadOptions = new() { MaxDepth = MaxDepth };

    /// <summary>The canonical bytes of a JSON text, or null for null.</summary>
    public static byte[]? Encode(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json, ReadOptions);
        return Encode(document.RootElement);
    }

    public static byte[] Encode(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(buffer, element);
        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(IBufferWriter<byte> output, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(output, element);
                break;
            case JsonValueKind.Array:
                Put(output, "["u8);
                var firstItem = true;
                foreach (var item in element.EnumerateArray())
                {
                    if (!firstItem)
                    {
                        Put(output, ","u8);
                    }

                    firstItem = false;
                    Write(output, item);
                }

                Put(output, "]"u8);
                break;
            case JsonValueKind.String:
                WriteString(output, element.GetString()!);
                break;
            case JsonValueKind.Number:
                // The number's own bytes, as given (JsonMarshal reads them without copying them into a string).
                Put(output, JsonMarshal.GetRawUtf8Value(element));
                break;
            case JsonValueKind.True:
                Put(output, "true"u8);
                break;
            case JsonValueKind.False:
                Put(output, "false"u8);
                break;
            default:
                Put(output, "null"u8);
                break;
        }
    }

    /// <summary>
    /// Properties sorted by name (ordinal); properties of the same name (only JSON that did not come from
    /// <c>jsonb</c> can have them) keep the order they were given in, as a stable sort keeps them.
    /// </summary>
    private static void WriteObject(IBufferWriter<byte> output, JsonElement element)
    {
        var count = element.GetPropertyCount();
        var names = ArrayPool<string>.Shared.Rent(Math.Max(count, 1));
        var values = ArrayPool<JsonElement>.Shared.Rent(Math.Max(count, 1));
        try
        {
            var n = 0;
            foreach (var property in element.EnumerateObject())
            {
                names[n] = property.Name;
                values[n] = property.Value;
                n++;
            }

            SortStably(names.AsSpan(0, n), values.AsSpan(0, n));
            Put(output, "{"u8);
            for (var i = 0; i < n; i++)
            {
                if (i > 0)
                {
                    Put(output, ","u8);
                }

                WriteString(output, names[i]);
                Put(output, ":"u8);
                Write(output, values[i]);
            }

            Put(output, "}"u8);
        }
        finally
        {
            ArrayPool<string>.Shared.Return(names, clearArray: true);
            ArrayPool<JsonElement>.Shared.Return(values, clearArray: true);
        }
    }

    /// <summary>
    /// Sorts by name (ordinal), keeping properties of one name in their given order: by insertion for the small
    /// objects events carry, by position as a tie-break above that (a client's 64 KiB of keys in reverse order must
    /// not cost a quadratic sort).
    /// </summary>
    private static void SortStably(Span<string> names, Span<JsonElement> values)
    {
        if (names.Length <= 16)
        {
            for (var i = 1; i < names.Length; i++)
            {
                var name = names[i];
                var value = values[i];
                var at = i;
                while (at > 0 && string.CompareOrdinal(names[at - 1], name) > 0)
                {
                    names[at] = names[at - 1];
                    values[at] = values[at - 1];
                    at--;
                }

                names[at] = name;
                values[at] = value;
            }

            return;
        }

        var order = new int[names.Length];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        var keys = names.ToArray();
        Array.Sort(order, (a, b) => string.CompareOrdinal(keys[a], keys[b]) is var c && c != 0 ? c : a.CompareTo(b));
        var sortedValues = values.ToArray();
        for (var i = 0; i < order.Length; i++)
        {
            names[i] = keys[order[i]];
            values[i] = sortedValues[order[i]];
        }
    }

    /// <summary>
    /// The string's UTF-8 bytes in quotes, with <c>"</c>, <c>\</c> and control characters escaped. Every byte
    /// escaped is ASCII, and no byte of a multi-byte UTF-8 sequence is, so escaping the bytes is escaping the text.
    /// </summary>
    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var scratch = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        var length = Encoding.UTF8.GetBytes(value, scratch);
        // Exactly what is written: the quotes, each byte, one more for a short escape, five more for \u00XX.
        var needed = 2L + length;
        foreach (var b in scratch[..length])
        {
            needed += b switch
            {
                (byte)'"' or (byte)'\\' or (byte)'\b' or (byte)'\f' or (byte)'\n' or (byte)'\r' or (byte)'\t' => 1,
                < 0x20 => 5,
                _ => 0,
            };
        }

        var span = output.GetSpan(checked((int)needed));
        var at = 0;
        span[at++] = (byte)'"';
        foreach (var b in scratch[..length])
        {
            switch (b)
            {
                case (byte)'"':
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'"';
                    break;
                case (byte)'\\':
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'\\';
                    break;
                case (byte)'\b':
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'b';
                    break;
                case (byte)'\f':
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'f';
                    break;
                case (byte)'\n':
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'n';
                    break;
                case (byte)'\r':
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'r';
                    break;
                case (byte)'\t':
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'t';
                    break;
                case < 0x20:
                    span[at++] = (byte)'\\';
                    span[at++] = (byte)'u';
                    span[at++] = (byte)'0';
                    span[at++] = (byte)'0';
                    span[at++] = Hex[b >> 4];
                    span[at++] = Hex[b & 0xF];
                    break;
                default:
                    span[at++] = b;
                    break;
            }
        }

        span[at++] = (byte)'"';
        output.Advance(at);
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    private static void Put(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);
}
