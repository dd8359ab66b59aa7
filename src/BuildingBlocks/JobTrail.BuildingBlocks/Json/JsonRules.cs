using System.Text.Json;
using FluentValidation;
using FluentValidation.Results;
using FluentValidation.Validators;

namespace JobTrail.BuildingBlocks.Json;

public static class JsonRules
{
    public const int MaxMetadataBytes = 16 * 1024;

    /// <summary>
    /// Absent, null, or a JSON object PostgreSQL can store (<see cref="StoredJson"/>) that takes at
    /// most <paramref name="maxBytes"/> stored. Each value that cannot be stored is a failure of its
    /// own, named by its path inside the field (<c>payload.a[2]</c>).
    /// </summary>
    public static IRuleBuilderOptions<T, JsonElement?> OptionalJsonObject<T>(this IRuleBuilder<T, JsonElement?> rule, string name, int maxBytes) =>
        rule.Must(e => e is null || e.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined)
            .WithMessage($"'{name}' must be a JSON object.")
            .SetValidator(new StorableJsonObjectValidator<T>(name, maxBytes));

    /// <summary>The refusal of stored JSON over its limit, for checks made after the validators (redaction).</summary>
    public static string TooLarge(string name, int maxBytes, long size) =>
        $"'{name}' must be at most {maxBytes / 1024} KiB of JSON as PostgreSQL stores it, numbers written out in full " +
        $"(1e300 is 301 digits); stored, this one would take {size} bytes.";

    /// <summary>The stored form: null for absent or JSON null, else the raw JSON text.</summary>
    public static string? ToStoredJson(this JsonElement? element) =>
        element is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } e ? e.GetRawText() : null;

    public static JsonElement? FromStoredJson(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<JsonElement>(json);

    private sealed class StorableJsonObjectValidator<T>(string name, int maxBytes) : PropertyValidator<T, JsonElement?>
    {
        public override string Name => "StorableJsonObjectValidator";

        public override bool IsValid(ValidationContext<T> context, JsonElement? value)
        {
            if (value is not { ValueKind: JsonValueKind.Object } element)
            {
                return true;
            }

            var report = StoredJson.Inspect(element);
            foreach (var fault in report.Faults)
            {
                context.AddFailure(new ValidationFailure(context.PropertyPath, $"'{name}{fault.Path}' {fault.Problem}.")
                {
                    CustomState = new WithinJson(fault.Path),
                });
            }

            if (report.Faults.Count == 0 && report.Size > maxBytes)
            {
                context.AddFailure(new ValidationFailure(context.PropertyPath, TooLarge(name, maxBytes, report.Size)));
            }

            return true;
        }
    }
}
