using System.Text;
using System.Text.Json;
using FluentValidation;

namespace JobTrail.BuildingBlocks.Json;

public static class JsonRules
{
    public const int MaxMetadataBytes = 16 * 1024;

    /// <summary>Absent, null, or a JSON object whose encoding fits in <paramref name="maxBytes"/>.</summary>
    public static IRuleBuilderOptions<T, JsonElement?> OptionalJsonObject<T>(this IRuleBuilder<T, JsonElement?> rule, string name, int maxBytes) =>
        rule.Must(e => e is null || e.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined)
            .WithMessage($"'{name}' must be a JSON object.")
            .Must(e => e is null || e.Value.ValueKind is not JsonValueKind.Object || Encoding.UTF8.GetByteCount(e.Value.GetRawText()) <= maxBytes)
            .WithMessage($"'{name}' must be at most {maxBytes / 1024} KiB of JSON.")
            .Must(e => e is null || StorableText.IsStorable(e.Value))
            .WithMessage($"'{name}' {StorableText.Refusal}.");

    /// <summary>The stored form: null for absent or JSON null, else the raw JSON text.</summary>
    public static string? ToStoredJson(this JsonElement? element) =>
        element is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } e ? e.GetRawText() : null;

    public static JsonElement? FromStoredJson(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<JsonElement>(json);
}
