using System.Collections.Frozen;
using System.Text.Json;

namespace JobTrail.BuildingBlocks.Json;

/// <summary>
/// Enum values as the API, the database and the chained payloads spell them (UPPER_SNAKE: AiAction → AI_ACTION),
/// the same spelling <see cref="JsonDefaults"/> writes. Parsing is exact and case-sensitive.
/// </summary>
public static class EnumText
{
    public static string Spell<TEnum>(TEnum value) where TEnum : struct, Enum =>
        Spellings<TEnum>.Names.TryGetValue(value, out var name)
            ? name
            : throw new ArgumentOutOfRangeException(nameof(value), value, $"{typeof(TEnum).Name} has no value {value}.");

    /// <summary>Every value as the API spells it, comma-separated in declaration order, for error messages.</summary>
    public static string AllSpelled<TEnum>() where TEnum : struct, Enum => Spellings<TEnum>.All;

    public static bool TryParse<TEnum>(string? text, out TEnum value) where TEnum : struct, Enum =>
        Spellings<TEnum>.Values.TryGetValue(text ?? string.Empty, out value);

    /// <summary>For stored text, which only ever holds a spelling this type wrote.</summary>
    public static TEnum Parse<TEnum>(string text) where TEnum : struct, Enum =>
        TryParse<TEnum>(text, out var value)
            ? value
            : throw new FormatException($"'{text}' is not a {typeof(TEnum).Name}; expected one of {AllSpelled<TEnum>()}.");

    // Built once per enum type; every call after that is a dictionary lookup.
    private static class Spellings<TEnum> where TEnum : struct, Enum
    {
        private static readonly TEnum[] Ordered = Enum.GetValues<TEnum>();

        public static readonly FrozenDictionary<TEnum, string> Names =
            Ordered.ToFrozenDictionary(v => v, v => JsonNamingPolicy.SnakeCaseUpper.ConvertName(v.ToString()));

        public static readonly FrozenDictionary<string, TEnum> Values =
            Names.ToFrozenDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

        public static readonly string All = string.Join(", ", Ordered.Select(v => Names[v]));
    }
}
