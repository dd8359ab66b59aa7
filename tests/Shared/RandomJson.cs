using System.Globalization;
using System.Text;

namespace JobTrail.Testing;

/// <summary>
/// Random JSON text for tests that hold a fast path to its reference: whitespace or none, names drawn from few
/// characters (so that objects repeat names and sort on close ones), strings with escapes, control characters,
/// HTML characters, characters from U+E000 up and outside the Basic Multilingual Plane (literal and escaped), and
/// numbers from small to 40 digits and with exponents.
/// </summary>
internal static class RandomJson
{
    public static string Value(Random random, int depth = 0, bool forceObject = false)
    {
        var kind = forceObject ? 0 : random.Next(depth > 4 ? 2 : 0, 8);
        var space = random.Next(4) == 0 ? " \n\t" : string.Empty;
        switch (kind)
        {
            case 0:
                var members = Enumerable.Range(0, random.Next(0, 20))
                    .Select(_ => Text(random, name: true) + space + ":" + space + Value(random, depth + 1));
                return "{" + space + string.Join("," + space, members) + space + "}";
            case 1:
                return "[" + string.Join("," + space, Enumerable.Range(0, random.Next(0, 5)).Select(_ => Value(random, depth + 1))) + "]";
            case 2:
            case 3:
                return Text(random, name: false);
            case 4:
                return random.Next(4) switch
                {
                    0 => random.NextInt64(long.MinValue, long.MaxValue).ToString(CultureInfo.InvariantCulture),
                    1 => (random.NextDouble() * 1e6).ToString("R", CultureInfo.InvariantCulture),
                    2 => "-1.5E+" + random.Next(0, 300).ToString(CultureInfo.InvariantCulture),
                    _ => "1" + new string('0', random.Next(20, 40)) + ".50",
                };
            case 5:
                return "true";
            case 6:
                return "false";
            default:
                return "null";
        }
    }

    /// <summary>A JSON string literal.</summary>
    public static string Text(Random random, bool name)
    {
        var text = new StringBuilder("\"");
        var length = random.Next(name ? 1 : 0, name ? 4 : 12);
        for (var i = 0; i < length; i++)
        {
            switch (random.Next(name ? 13 : 12))
            {
                case 0: text.Append("\\\""); break;
                case 1: text.Append("\\\\"); break;
                case 2: text.Append(CultureInfo.InvariantCulture, $"\\u{random.Next(0, 0x20):x4}"); break;
                case 3: text.Append("\\u00e9"); break;
                case 4: text.Append("😀"); break;
                case 5: text.Append("\\ud83d\\ude00"); break;
                case 6: text.Append((char)random.Next(0xE000, 0xFFFE)); break;
                case 7: text.Append("\\uffee"); break;
                case 8: text.Append((char)random.Next(0xA0, 0x2FFF)); break;
                case 9: text.Append("\\/"); break;
                case 10: text.Append("<>&'+`"); break;
                default: text.Append((char)random.Next('a', name ? 'd' : 'z' + 1)); break;
            }
        }

        return text.Append('"').ToString();
    }
}
