using System.Text.Json;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>Stores enums as the same UPPER_SNAKE text the API speaks (AiAction → AI_ACTION).</summary>
public sealed class UpperSnakeCaseEnumConverter<TEnum>() : ValueConverter<TEnum, string>(
    v => Names[v],
    v => Values[v])
    where TEnum : struct, Enum
{
    private static readonly Dictionary<TEnum, string> Names =
        Enum.GetValues<TEnum>().ToDictionary(v => v, v => JsonNamingPolicy.SnakeCaseUpper.ConvertName(v.ToString()));

    private static readonly Dictionary<string, TEnum> Values = Names.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    public static string NameOf(TEnum value) => Names[value];

    /// <summary>Every value as the API spells it, comma-separated, for error messages.</summary>
    public static string AllNames { get; } = string.Join(", ", Names.Values);

    /// <summary>Parses the exact API spelling (case-sensitive); anything else is refused.</summary>
    public static bool TryParse(string? text, out TEnum value) => Values.TryGetValue(text ?? string.Empty, out value);
}
