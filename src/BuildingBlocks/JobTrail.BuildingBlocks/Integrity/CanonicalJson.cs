using System.Buffers;
using System.Text;
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
                Put(output, "{"u8);
                var first = true;
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    if (!first)
                    {
                        Put(output, ","u8);
                    }

                    first = false;
                    WriteString(output, property.Name);
                    Put(output, ":"u8);
                    Write(output, property.Value);
                }

                Put(output, "}"u8);
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
                Put(output, Encoding.UTF8.GetBytes(element.GetRawText()));
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

    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (var c in value)
        {
            switch (c)
            {
                case '"':
                    text.Append("\\\"");
                    break;
                case '\\':
                    text.Append("\\\\");
                    break;
                case '\b':
                    text.Append("\\b");
                    break;
                case '\f':
                    text.Append("\\f");
                    break;
                case '\n':
                    text.Append("\\n");
                    break;
                case '\r':
                    text.Append("\\r");
                    break;
                case '\t':
                    text.Append("\\t");
                    break;
                case < ' ':
                    text.Append("\\u00").Append(((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
                    break;
                default:
                    text.Append(c);
                    break;
            }
        }

        Put(output, Encoding.UTF8.GetBytes(text.Append('"').ToString()));
    }

    private static void Put(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);
}
