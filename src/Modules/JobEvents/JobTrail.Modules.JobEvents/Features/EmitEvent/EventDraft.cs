using FluentValidation.Results;
using JobTrail.Modules.JobEvents.Contracts;

namespace JobTrail.Modules.JobEvents.Features.EmitEvent;

/// <summary>One event as a client sends it, alone or in a batch.</summary>
internal sealed record EventDraft(string? Type, Guid? StepId, JsonElement? Payload, DateTimeOffset? OccurredAt);

internal static class EventLimits
{
    public const int MaxPayloadBytes = 64 * 1024;
    public const int MaxBatchEvents = 1000;
    public const int MaxBatchBodyBytes = 8 * 1024 * 1024;
    public const int MaxIdempotencyKeyLength = 255;

    public static readonly string KnownTypes = string.Join(", ", JobEventTypes.All);
}

/// <summary>
/// The rules of one event's fields, shared by the single and the batch emit, as plain code: a batch checks up to
/// 1000 events, and FluentValidation's machinery per rule and element cost more than the checks themselves (about
/// 3 µs an event against 1.2 µs for the payload's walk). Failures are named as FluentValidation names them
/// (<c>Type</c>, or <c>Events[3].Type</c> in a batch), in the order its rules ran, each rule stopping at its first.
/// </summary>
internal static class EventRules
{
    public static void Check(EventDraft draft, string prefix, ICollection<ValidationFailure> failures)
    {
        if (string.IsNullOrWhiteSpace(draft.Type))
        {
            failures.Add(new ValidationFailure(prefix + "Type", "'type' is required.", draft.Type));
        }
        else if (!JobEventTypes.IsKnown(draft.Type))
        {
            failures.Add(new ValidationFailure(
                prefix + "Type", $"'{draft.Type}' is not an event type; the types are {EventLimits.KnownTypes}.", draft.Type));
        }

        if (draft.StepId == Guid.Empty)
        {
            failures.Add(new ValidationFailure(prefix + "StepId", "'stepId' must be a step id.", draft.StepId));
        }

        JsonRules.CheckOptionalJsonObject(draft.Payload, prefix + "Payload", "payload", EventLimits.MaxPayloadBytes, failures);
    }

    /// <summary>
    /// A batch's events up to the first that fails, with every failure of that one (as the rule over the list
    /// stopped at its first failing element): a missing event (JSON null) is named <c>Events[i]</c>, the fields of
    /// the others below it.
    /// </summary>
    public static void CheckAll(IReadOnlyList<EventDraft?> drafts, ICollection<ValidationFailure> failures)
    {
        var before = failures.Count;
        for (var i = 0; i < drafts.Count && failures.Count == before; i++)
        {
            if (drafts[i] is not { } draft)
            {
                failures.Add(new ValidationFailure($"Events[{i}]", "Each event must be a JSON object.", null));
                continue;
            }

            Check(draft, $"Events[{i}].", failures);
        }
    }

    /// <summary>Absent, or 1-255 visible ASCII characters (a UUID is the usual choice).</summary>
    public static IRuleBuilderOptions<T, string?> ValidIdempotencyKey<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(k => k is null || (k.Length is > 0 and <= EventLimits.MaxIdempotencyKeyLength && k.All(c => c is > ' ' and <= '~')))
            .WithMessage($"The Idempotency-Key header must be 1-{EventLimits.MaxIdempotencyKeyLength} visible ASCII characters.");

    /// <summary>Adds <paramref name="failures"/> to the context as they are (their names are already the full paths).</summary>
    public static void AddTo<T>(this ICollection<ValidationFailure> failures, ValidationContext<T> context)
    {
        foreach (var failure in failures)
        {
            context.AddFailure(failure);
        }
    }
}
