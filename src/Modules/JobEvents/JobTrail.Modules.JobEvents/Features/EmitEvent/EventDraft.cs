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

internal sealed class EventDraftValidator : AbstractValidator<EventDraft>
{
    public EventDraftValidator()
    {
        RuleFor(x => x.Type).ValidEventType();
        RuleFor(x => x.StepId).ValidStepId();
        RuleFor(x => x.Payload).ValidPayload();
    }
}

/// <summary>The rules of one event's fields, shared by the single and the batch emit.</summary>
internal static class EventRules
{
    public static IRuleBuilderOptions<T, string?> ValidEventType<T>(this IRuleBuilder<T, string?> rule) =>
        rule.NotEmpty().WithMessage("'type' is required.")
            .Must(JobEventTypes.IsKnown).WithMessage((_, type) => $"'{type}' is not an event type; the types are {EventLimits.KnownTypes}.");

    public static IRuleBuilderOptions<T, Guid?> ValidStepId<T>(this IRuleBuilder<T, Guid?> rule) =>
        rule.NotEqual(Guid.Empty).WithMessage("'stepId' must be a step id.");

    public static IRuleBuilderOptions<T, JsonElement?> ValidPayload<T>(this IRuleBuilder<T, JsonElement?> rule) =>
        rule.OptionalJsonObject("payload", EventLimits.MaxPayloadBytes);

    /// <summary>Absent, or 1-255 visible ASCII characters (a UUID is the usual choice).</summary>
    public static IRuleBuilderOptions<T, string?> ValidIdempotencyKey<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(k => k is null || (k.Length is > 0 and <= EventLimits.MaxIdempotencyKeyLength && k.All(c => c is > ' ' and <= '~')))
            .WithMessage($"The Idempotency-Key header must be 1-{EventLimits.MaxIdempotencyKeyLength} visible ASCII characters.");
}
