using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace JobTrail.BuildingBlocks.Json;

/// <summary>
/// A client's free-form JSON (an event payload, a job's or an activity's metadata) as PostgreSQL's
/// <c>jsonb</c> will store and print it. It can be stored when every string and key is valid UTF-8
/// and <see cref="StorableText"/>, and every number is one a double can hold (finite, within
/// ±1.7976931348623157e308) whose stored form jsonb accepts: at most
/// <see cref="MaxFractionDigits"/> digits after the decimal point and an exponent within
/// ±<see cref="MaxExponent"/>. Its <see cref="StoredJsonReport.Size"/> is the UTF-8 length of the
/// text jsonb prints: numbers written out in full (<c>1e300</c> is 301 digits, <c>1e-5</c> is
/// <c>0.00001</c>), <c>": "</c> after each key, <c>", "</c> between members and items, strings
/// with only <c>"</c>, <c>\</c> and control characters escaped.
/// </summary>
public static class StoredJson
{
    /// <summary>jsonb stores a number as <c>numeric</c>, which keeps at most this many digits after the point.</summary>
    public const int MaxFractionDigits = 16383;

    /// <summary>jsonb refuses larger exponents (even on zero); no sane number needs one.</summary>
    public const long MaxExponent = 999_999_999;

    /// <summary>Reported faults stop here; one is enough to refuse, ten are enough to fix a payload.</summary>
    public const int MaxFaults = 10;

    public const string NotADouble = "must be a number a double can hold (finite, within ±1.7976931348623157e308)";

    public static StoredJsonReport Inspect(JsonElement element)
    {
        var walker = new Walker();
        var size = walker.Measure(element);
        return new StoredJsonReport(size, walker.Faults);
    }

    /// <summary>
    /// The text jsonb will print for a value that <see cref="Inspect"/> found storable: object members sorted as jsonb
    /// keeps them (shorter UTF-8 name first, then bytewise), the last of a repeated name kept, <c>": "</c> after each
    /// name and <c>", "</c> between members and items, numbers written out in full, strings with only <c>"</c>,
    /// <c>\</c> and control characters escaped. A prediction: the group writer has PostgreSQL compare it with what it
    /// printed before it relies on it (docs/adr/0046).
    /// </summary>
    public static string Print(JsonElement element)
    {
        var text = new StringBuilder();
        Print(text, element);
        return text.ToString();
    }

    private static void Print(StringBuilder text, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                PrintObject(text, element);
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var first = true;
                foreach (var item in element.EnumerateArray())
                {
                    text.Append(first ? "" : ", ");
                    first = false;
                    Print(text, item);
                }

                text.Append(']');
                break;
            case JsonValueKind.String:
                PrintString(text, element.GetString()!);
                break;
            case JsonValueKind.Number:
                PrintNumber(text, JsonMarshal.GetRawUtf8Value(element));
                break;
            case JsonValueKind.True:
                text.Append("true");
                break;
            case JsonValueKind.False:
                text.Append("false");
                break;
            default:
                text.Append("null");
                break;
        }
    }

    private static void PrintObject(StringBuilder text, JsonElement element)
    {
        var members = new (string Name, int Order, JsonElement Value)[element.GetPropertyCount()];
        var n = 0;
        foreach (var property in element.EnumerateObject())
        {
            members[n] = (property.Name, n, property.Value);
            n++;
        }

        // jsonb's order; a repeated name ends up next to itself, in the order given, and jsonb keeps the last.
        Array.Sort(members, static (a, b) => CompareNames(a.Name, b.Name) is var c && c != 0 ? c : a.Order.CompareTo(b.Order));
        text.Append('{');
        var first = true;
        for (var i = 0; i < members.Length; i++)
        {
            if (i + 1 < members.Length && string.Equals(members[i].Name, members[i + 1].Name, StringComparison.Ordinal))
            {
                continue;
            }

            text.Append(first ? "" : ", ");
            first = false;
            PrintString(text, members[i].Name);
            text.Append(": ");
            Print(text, members[i].Value);
        }

        text.Append('}');
    }

    /// <summary>Shorter UTF-8 first, then bytewise; ASCII names (the usual) are compared without encoding them.</summary>
    private static int CompareNames(string a, string b)
    {
        if (Ascii.IsValid(a) && Ascii.IsValid(b))
        {
            return a.Length != b.Length ? a.Length.CompareTo(b.Length) : string.CompareOrdinal(a, b);
        }

        var x = Encoding.UTF8.GetBytes(a);
        var y = Encoding.UTF8.GetBytes(b);
        return x.Length != y.Length ? x.Length.CompareTo(y.Length) : x.AsSpan().SequenceCompareTo(y);
    }

    private static void PrintString(StringBuilder text, string value)
    {
        text.Append('"');
        foreach (var c in value)
        {
            var escape = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\b' => "\\b",
                '\f' => "\\f",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ => null,
            };
            if (escape is not null)
            {
                text.Append(escape);
            }
            else if (c < ' ')
            {
                text.Append("\\u00").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }

        text.Append('"');
    }

    /// <summary>
    /// A JSON number token as numeric prints it: every digit sent, the exponent applied (<c>1.50e1</c> is
    /// <c>15.0</c>, <c>1e-3</c> is <c>0.001</c>), leading zeros dropped, no sign on zero.
    /// </summary>
    private static void PrintNumber(StringBuilder text, ReadOnlySpan<byte> token)
    {
        // No exponent and not a negative zero: JSON allows no leading zeros, so numeric prints the token as it is.
        if (!token.ContainsAny((byte)'e', (byte)'E') && !(token[0] == '-' && !token.ContainsAnyInRange((byte)'1', (byte)'9')))
        {
            foreach (var b in token)
            {
                text.Append((char)b);
            }

            return;
        }

        Scan(token, out var negative, out var integer, out var fractionPart, out var exponent);
        var digits = Encoding.ASCII.GetString(token[integer]) + Encoding.ASCII.GetString(token[fractionPart]);
        long integerDigits = integer.GetOffsetAndLength(token.Length).Length;
        long fraction = fractionPart.GetOffsetAndLength(token.Length).Length;
        var scale = Math.Max(0, fraction - exponent);
        var all = digits.TrimStart('0');
        if (all.Length == 0)
        {
            text.Append('0');
            if (scale > 0)
            {
                text.Append('.').Append('0', checked((int)scale));
            }

            return;
        }

        // Where the decimal point falls among the significant digits (negative: that many zeros before them).
        var point = integerDigits + exponent - (digits.Length - all.Length);
        if (negative)
        {
            text.Append('-');
        }

        if (point <= 0)
        {
            text.Append('0');
        }
        else if (point >= all.Length)
        {
            text.Append(all).Append('0', checked((int)(point - all.Length)));
        }
        else
        {
            text.Append(all, 0, (int)point);
        }

        if (scale > 0)
        {
            text.Append('.');
            if (point < 0)
            {
                text.Append('0', checked((int)-point));
            }

            text.Append(all, (int)Math.Max(0, point), all.Length - (int)Math.Max(0, point));
        }
    }

    /// <summary>The stored size of JSON text the service itself produced (e.g. after redaction).</summary>
    public static long SizeOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Inspect(document.RootElement).Size;
    }

    /// <summary>
    /// A JSON number token's parts: its sign, its integer digits, the digits after the point, and its exponent
    /// (saturating: anything past <see cref="MaxExponent"/> is refused whatever its exact value).
    /// </summary>
    private static void Scan(ReadOnlySpan<byte> token, out bool negative, out Range integer, out Range fraction, out long exponent)
    {
        var i = 0;
        negative = token[0] == '-';
        if (negative)
        {
            i++;
        }

        var start = i;
        while (i < token.Length && char.IsAsciiDigit((char)token[i]))
        {
            i++;
        }

        integer = start..i;
        fraction = i..i;
        if (i < token.Length && token[i] == '.')
        {
            start = ++i;
            while (i < token.Length && char.IsAsciiDigit((char)token[i]))
            {
                i++;
            }

            fraction = start..i;
        }

        exponent = 0;
        if (i < token.Length && token[i] is (byte)'e' or (byte)'E')
        {
            var sign = 1;
            if (token[++i] is (byte)'+' or (byte)'-')
            {
                sign = token[i++] == '-' ? -1 : 1;
            }

            for (; i < token.Length; i++)
            {
                exponent = Math.Min(exponent * 10 + (token[i] - '0'), MaxExponent + 1);
            }

            exponent *= sign;
        }
    }

    /// <summary>
    /// How many bytes jsonb prints for this JSON number token, and how many of them follow the
    /// decimal point. jsonb keeps every digit sent and applies the exponent: <c>1.50e1</c> is
    /// <c>15.0</c>, <c>100e-2</c> is <c>1.00</c>, <c>-0</c> is <c>0</c>. Only for finite doubles
    /// (the integer part then has at most 309 digits).
    /// </summary>
    internal static long NumberSize(ReadOnlySpan<byte> token, out long fractionDigits, out long exponent)
    {
        Scan(token, out var negative, out var integer, out var fractionPart, out exponent);
        long significant = 0; // digits after the leading zeros, integer and fraction parts together
        foreach (var digit in token[integer])
        {
            significant += significant > 0 || digit != '0' ? 1 : 0;
        }

        foreach (var digit in token[fractionPart])
        {
            significant += significant > 0 || digit != '0' ? 1 : 0;
        }

        long fraction = fractionPart.GetOffsetAndLength(token.Length).Length;
        fractionDigits = Math.Max(0, fraction - exponent);
        long size;
        if (significant == 0)
        {
            size = fractionDigits == 0 ? 1 : 2 + fractionDigits;
        }
        else if (fractionDigits == 0)
        {
            size = significant + (exponent - fraction);
        }
        else
        {
            size = Math.Max(1, significant - fractionDigits) + 1 + fractionDigits;
        }

        return size + (negative && significant > 0 ? 1 : 0);
    }

    /// <summary>The printed length of a string (or key) with its quotes, escaped as jsonb escapes it.</summary>
    internal static long StringSize(string text)
    {
        long size = 2;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                size += 4;
                i++;
                continue;
            }

            size += c switch
            {
                '"' or '\\' or '\b' or '\f' or '\n' or '\r' or '\t' => 2,
                < ' ' => 6,
                < (char)0x80 => 1,
                < (char)0x800 => 2,
                _ => 3,
            };
        }

        return size;
    }

    /// <summary><c>.name</c> for a plain name, <c>['a b']</c> otherwise, <c>[3]</c> for an item.</summary>
    internal static string Segment(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_') && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_')
            ? "." + name
            : "['" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "']";

    private sealed class Walker
    {
        private readonly List<string> path = [];

        public List<StoredJsonFault> Faults { get; } = [];

        public long Measure(JsonElement element)
        {
            if (Faults.Count >= MaxFaults)
            {
                return 0;
            }

            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    return MeasureObject(element);
                case JsonValueKind.Array:
                    long size = 2;
                    var index = 0;
                    foreach (var item in element.EnumerateArray())
                    {
                        size += index > 0 ? 2 : 0;
                        path.Add($"[{index++}]");
                        size += Measure(item);
                        path.RemoveAt(path.Count - 1);
                    }

                    return size;
                case JsonValueKind.String:
                    return ReadText(JsonMarshal.GetRawUtf8Value(element), element.GetString, "is not valid UTF-8", string.Empty) is { } text
                        ? StringSize(text)
                        : 0;
                case JsonValueKind.Number:
                    return MeasureNumber(element);
                case JsonValueKind.True or JsonValueKind.Null:
                    return 4;
                case JsonValueKind.False:
                    return 5;
                default:
                    return 0;
            }
        }

        private long MeasureObject(JsonElement element)
        {
            long size = 2;
            var first = true;
            foreach (var property in element.EnumerateObject())
            {
                size += first ? 0 : 2;
                first = false;
                // A name that cannot be printed is reported at its object; its value is not looked into.
                var name = ReadText(JsonMarshal.GetRawUtf8PropertyName(property), () => property.Name, "has a property name that is not valid UTF-8", "has a property name that ");
                if (name is null)
                {
                    continue;
                }

                path.Add(Segment(name));
                size += StringSize(name) + 2 + Measure(property.Value);
                path.RemoveAt(path.Count - 1);
            }

            return size;
        }

        private long MeasureNumber(JsonElement element)
        {
            var token = JsonMarshal.GetRawUtf8Value(element);
            if (!element.TryGetDouble(out var value) || !double.IsFinite(value))
            {
                Fault(NotADouble);
                return 0;
            }

            var size = NumberSize(token, out var fractionDigits, out var exponent);
            if (Math.Abs(exponent) > MaxExponent)
            {
                Fault($"has an exponent beyond ±{MaxExponent}, which cannot be stored");
                return 0;
            }

            if (fractionDigits > MaxFractionDigits)
            {
                Fault($"has {fractionDigits} digits after the decimal point once its exponent is applied; at most {MaxFractionDigits} can be stored");
                return 0;
            }

            return size;
        }

        /// <summary>The decoded text, or null after reporting why it cannot be stored.</summary>
        private string? ReadText(ReadOnlySpan<byte> raw, Func<string?> decode, string notUtf8, string unstorablePrefix)
        {
            if (!Utf8.IsValid(raw))
            {
                Fault(notUtf8);
                return null;
            }

            string? text;
            try
            {
                text = decode();
            }
            catch (InvalidOperationException)
            {
                // Only an escaped unpaired surrogate (\ud800) fails to decode once the bytes are valid UTF-8.
                text = null;
            }

            if (text is null || !StorableText.IsStorable(text))
            {
                Fault(unstorablePrefix + StorableText.Refusal);
                return null;
            }

            return text;
        }

        private void Fault(string problem)
        {
            if (Faults.Count < MaxFaults)
            {
                Faults.Add(new StoredJsonFault(string.Concat(path), problem));
            }
        }
    }
}

/// <summary>One value that cannot be stored: where (<c>.a[2]</c>, empty for the whole value) and why.</summary>
public sealed record StoredJsonFault(string Path, string Problem);

/// <summary>The printed size (meaningful only without faults) and what cannot be stored.</summary>
public sealed record StoredJsonReport(long Size, IReadOnlyList<StoredJsonFault> Faults);

/// <summary>
/// Set as a validation failure's custom state when it concerns a value inside the JSON field the
/// failure names: the field's wire name is followed by <see cref="Path"/> (<c>payload.a[2]</c>).
/// </summary>
public sealed record WithinJson(string Path);
