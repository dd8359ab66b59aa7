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
    /// <remarks>
    /// Read token by token (<see cref="TextEncoder"/>), which is what every event's row digest does with the payload
    /// jsonb printed; text the reader cannot take that way goes through a parsed document, whose result or exception
    /// is the reference.
    /// </remarks>
    public static byte[]? Encode(string? json)
    {
        if (json is null)
        {
            return null;
        }

        if (TextEncoder.TryEncode(json) is { } encoded)
        {
            return encoded;
        }

        using var document = JsonDocument.Parse(json, ReadOptions);
        return Encode(document.RootElement);
    }

    /// <summary>The token-by-token encoding alone: null where <see cref="Encode(string?)"/> would parse instead.</summary>
    internal static byte[]? EncodeText(string json) => TextEncoder.TryEncode(json);

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

    /// <summary>The string's UTF-8 bytes in quotes, escaped as <see cref="Escape"/> does.</summary>
    private static void WriteString(IBufferWriter<byte> output, string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var scratch = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        var length = Encoding.UTF8.GetBytes(value, scratch);
        var utf8 = scratch[..length];
        output.Advance(Escape(utf8, output.GetSpan(EscapedLength(utf8))));
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Exactly what <see cref="Escape"/> writes: the quotes, each byte, one more for a short escape, five more for <c>\u00XX</c>.</summary>
    private static int EscapedLength(ReadOnlySpan<byte> utf8)
    {
        var needed = 2 + utf8.Length;
        foreach (var b in utf8)
        {
            needed += b switch
            {
                (byte)'"' or (byte)'\\' or (byte)'\b' or (byte)'\f' or (byte)'\n' or (byte)'\r' or (byte)'\t' => 1,
                < 0x20 => 5,
                _ => 0,
            };
        }

        return needed;
    }

    /// <summary>
    /// UTF-8 text in quotes, with <c>"</c>, <c>\</c> and control characters escaped, into <paramref name="to"/> (at least
    /// <see cref="EscapedLength"/> long); the bytes written. Every byte escaped is ASCII, and no byte of a multi-byte
    /// UTF-8 sequence is, so escaping the bytes is escaping the text.
    /// </summary>
    private static int Escape(ReadOnlySpan<byte> utf8, Span<byte> to)
    {
        var at = 0;
        to[at++] = (byte)'"';
        foreach (var b in utf8)
        {
            switch (b)
            {
                case (byte)'"':
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'"';
                    break;
                case (byte)'\\':
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'\\';
                    break;
                case (byte)'\b':
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'b';
                    break;
                case (byte)'\f':
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'f';
                    break;
                case (byte)'\n':
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'n';
                    break;
                case (byte)'\r':
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'r';
                    break;
                case (byte)'\t':
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'t';
                    break;
                case < 0x20:
                    to[at++] = (byte)'\\';
                    to[at++] = (byte)'u';
                    to[at++] = (byte)'0';
                    to[at++] = (byte)'0';
                    to[at++] = Hex[b >> 4];
                    to[at++] = Hex[b & 0xF];
                    break;
                default:
                    to[at++] = b;
                    break;
            }
        }

        to[at++] = (byte)'"';
        return at;
    }

    private static ReadOnlySpan<byte> Hex => "0123456789abcdef"u8;

    private static void Put(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    /// <summary>
    /// The canonical bytes of a JSON text without a document: each token is written as it is read, and an object whose
    /// names did not come in order is rewritten in order once its last member is written (jsonb keeps shorter names
    /// first, so most payload objects with names of different lengths are rewritten). Names are compared as UTF-8 bytes,
    /// which is their UTF-16 ordinal order unless one of them holds a character from U+E000 up (a surrogate pair
    /// sorts below those in UTF-16, above them in UTF-8); such names are compared as strings. The canonical form is
    /// never longer than the text (whitespace dropped, escapes no longer than the text's own), so the output is sized
    /// from the input and grows only as a safeguard. Null when anything is not as expected: the caller then parses.
    /// </summary>
    private sealed class TextEncoder
    {
        private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        private byte[] output;
        private int at;
        private byte[] names;
        private int namesAt;
        private byte[] scratch;
        private readonly List<Member> members = [];
        private readonly Comparer<Member> order;

        private TextEncoder(int capacity)
        {
            order = Comparer<Member>.Create((a, b) => Compare(a, b) is var c && c != 0 ? c : a.Index.CompareTo(b.Index));
            output = ArrayPool<byte>.Shared.Rent(capacity + 16);
            names = ArrayPool<byte>.Shared.Rent(capacity + 16);
            scratch = ArrayPool<byte>.Shared.Rent(256);
        }

        private readonly record struct Member(int Start, int End, int NameAt, int NameLength, int Index);

        public static byte[]? TryEncode(string json)
        {
            byte[]? text = null;
            TextEncoder? encoder = null;
            try
            {
                text = ArrayPool<byte>.Shared.Rent(StrictUtf8.GetMaxByteCount(json.Length));
                var length = StrictUtf8.GetBytes(json, text);
                encoder = new TextEncoder(length);
                var reader = new Utf8JsonReader(text.AsSpan(0, length), new JsonReaderOptions { MaxDepth = MaxDepth });
                if (!reader.Read())
                {
                    return null;
                }

                encoder.WriteValue(ref reader);
                return reader.Read() ? null : encoder.output.AsSpan(0, encoder.at).ToArray();
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or OverflowException)
            {
                return null;
            }
            finally
            {
                // Cleared, as JsonDocument clears what it pools: a payload may hold what its job should not leave around.
                if (text is not null)
                {
                    ArrayPool<byte>.Shared.Return(text, clearArray: true);
                }

                encoder?.Release();
            }
        }

        private void Release()
        {
            ArrayPool<byte>.Shared.Return(output, clearArray: true);
            ArrayPool<byte>.Shared.Return(names, clearArray: true);
            ArrayPool<byte>.Shared.Return(scratch, clearArray: true);
        }

        private void WriteValue(ref Utf8JsonReader reader)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    WriteObject(ref reader);
                    break;
                case JsonTokenType.StartArray:
                    Put("["u8);
                    var first = true;
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (!first)
                        {
                            Put(","u8);
                        }

                        first = false;
                        WriteValue(ref reader);
                    }

                    Put("]"u8);
                    break;
                case JsonTokenType.String:
                    PutString(Unescaped(ref reader));
                    break;
                case JsonTokenType.Number:
                    Put(reader.ValueSpan);
                    break;
                case JsonTokenType.True:
                    Put("true"u8);
                    break;
                case JsonTokenType.False:
                    Put("false"u8);
                    break;
                case JsonTokenType.Null:
                    Put("null"u8);
                    break;
                default:
                    throw new InvalidOperationException($"Unexpected {reader.TokenType}.");
            }
        }

        private void WriteObject(ref Utf8JsonReader reader)
        {
            var start = at;
            var first = members.Count;
            var inOrder = true;
            Put("{"u8);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var index = members.Count - first;
                if (index > 0)
                {
                    Put(","u8);
                }

                var memberStart = at;
                var name = Unescaped(ref reader);
                var nameAt = namesAt;
                var nameLength = name.Length;
                Keep(name);
                PutString(name);
                Put(":"u8);
                if (!reader.Read())
                {
                    throw new InvalidOperationException("A name without a value.");
                }

                // Members of objects inside the value are above this object's on the stack, and gone when it returns.
                WriteValue(ref reader);
                var member = new Member(memberStart, at, nameAt, nameLength, index);
                if (index > 0 && inOrder && Compare(members[^1], member) > 0)
                {
                    inOrder = false;
                }

                members.Add(member);
            }

            Put("}"u8);
            if (!inOrder)
            {
                Reorder(start, first);
            }

            members.RemoveRange(first, members.Count - first);
        }

        /// <summary>
        /// The object written from <paramref name="start"/> again, its members (on the stack from <paramref name="first"/>)
        /// sorted, stably: a repeated name keeps its place.
        /// </summary>
        private void Reorder(int start, int first)
        {
            var length = at - start;
            if (scratch.Length < length)
            {
                scratch = Replace(scratch, length);
            }

            output.AsSpan(start, length).CopyTo(scratch);
            var count = members.Count - first;
            members.Sort(first, count, order);
            at = start;
            Put("{"u8);
            for (var i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    Put(","u8);
                }

                var member = members[first + i];
                Put(scratch.AsSpan(member.Start - start, member.End - member.Start));
            }

            Put("}"u8);
        }

        private int Compare(Member a, Member b)
        {
            var x = names.AsSpan(a.NameAt, a.NameLength);
            var y = names.AsSpan(b.NameAt, b.NameLength);
            if (x.IndexOfAnyInRange((byte)0xEE, (byte)0xFF) < 0 && y.IndexOfAnyInRange((byte)0xEE, (byte)0xFF) < 0)
            {
                return x.SequenceCompareTo(y);
            }

            return string.CompareOrdinal(Encoding.UTF8.GetString(x), Encoding.UTF8.GetString(y));
        }

        private ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader reader)
        {
            if (!reader.ValueIsEscaped)
            {
                return reader.ValueSpan;
            }

            // Unescaped text is never longer than its escaped form. The scratch is free here: a reorder uses it only
            // after the object's last value.
            var needed = reader.ValueSpan.Length;
            if (scratch.Length < needed)
            {
                scratch = Replace(scratch, needed);
            }

            var written = reader.CopyString(scratch);
            return scratch.AsSpan(0, written);
        }

        private void Keep(ReadOnlySpan<byte> name)
        {
            if (names.Length - namesAt < name.Length)
            {
                names = Grow(names, namesAt, name.Length);
            }

            name.CopyTo(names.AsSpan(namesAt));
            namesAt += name.Length;
        }

        /// <summary>The value in quotes, escaped as <see cref="Escape"/> does.</summary>
        private void PutString(ReadOnlySpan<byte> value)
        {
            Ensure(EscapedLength(value));
            at += Escape(value, output.AsSpan(at));
        }

        private void Put(ReadOnlySpan<byte> bytes)
        {
            Ensure(bytes.Length);
            bytes.CopyTo(output.AsSpan(at));
            at += bytes.Length;
        }

        private void Ensure(int more)
        {
            if (output.Length - at < more)
            {
                output = Grow(output, at, more);
            }
        }

        private static byte[] Grow(byte[] buffer, int used, int more)
        {
            var larger = ArrayPool<byte>.Shared.Rent(checked(Math.Max(buffer.Length * 2, used + more)));
            buffer.AsSpan(0, used).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            return larger;
        }

        /// <summary>A larger scratch; what the old one held is not needed (rented first, so a failure returns nothing twice).</summary>
        private static byte[] Replace(byte[] buffer, int size)
        {
            var larger = ArrayPool<byte>.Shared.Rent(size);
            ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
            return larger;
        }
    }
}
