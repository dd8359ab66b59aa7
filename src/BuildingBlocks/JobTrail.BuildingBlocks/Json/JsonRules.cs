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

    /// <summary>
    /// <see cref="OptionalJsonObject{T}"/> as plain code, for validators that check many values in one rule (a batch's
    /// events): the same failures, in the same order, named <paramref name="propertyPath"/> (<c>Events[3].Payload</c>).
    /// </summary>
    public static void CheckOptionalJsonObject(JsonElement? value, string propertyPath, string name, int maxBytes, ICollection<ValidationFailure> failures)
    {
        if (value is { ValueKind: not (JsonValueKind.Object or JsonValueKind.Null or JsonValueKind.Undefined) })
        {
            failures.Add(new ValidationFailure(propertyPath, $"'{name}' must be a JSON object.", value));
            return;
        }

        CheckStorable(value, propertyPath, name, maxBytes, failures);
    }

    /// <summary>Each value of an object that cannot be stored, by its path inside the field; then its stored size.</summary>
    private static void CheckStorable(JsonElement? value, string propertyPath, string name, int maxBytes, ICollection<ValidationFailure> failures)
    {
        if (value is not { ValueKind: JsonValueKind.Object } element)
        {
            return;
        }

        var report = StoredJson.Inspect(element);
        foreach (var fault in report.Faults)
        {
            failures.Add(new ValidationFailure(propertyPath, $"'{name}{fault.Path}' {fault.Problem}.") { CustomState = new WithinJson(fault.Path) });
        }

        if (report.Faults.Count == 0 && report.Size > maxBytes)
        {
            failures.Add(new ValidationFailure(propertyPath, TooLarge(name, maxBytes, report.Size)));
        }
    }

    private sealed class StorableJsonObjectValidator<T>(string name, int maxBytes) : PropertyValidator<T, JsonElement?>
    {
        public override string Name => "StorableJsonObjectValidator";

        public override bool IsValid(ValidationContext<T> context, JsonElement? value)
        {
            var failures = new List<ValidationFailure>();
            CheckStorable(value, context.PropertyPath, name, maxBytes, failures);
            foreach (var failure in failures)
            {
                context.AddFailure(failure);
            }

            return true;
        }
    }
}
