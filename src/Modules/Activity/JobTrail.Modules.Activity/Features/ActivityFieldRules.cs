using JobTrail.Modules.Activity.Domain;

namespace JobTrail.Modules.Activity.Features;

/// <summary>One rule and one message per activity field, for every slice that takes it (list, feed, audit trail, record).</summary>
internal static class ActivityFieldRules
{
    public static IRuleBuilderOptions<T, string?> ActorIdFilter<T>(this IRuleBuilder<T, string?> rule) =>
        rule.MaximumLength(ActivityRules.MaxActorIdLength)
            .WithMessage($"'actorId' must be at most {ActivityRules.MaxActorIdLength} characters.");

    public static IRuleBuilderOptions<T, string?> ActionFilter<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(a => a is null || ActivityRules.IsActionFilter(a))
            .WithMessage("'action' must be an action such as 'runner_job.created', or a prefix such as 'runner_job.*'.");

    /// <summary>An entity type, when one is given (null passes: "required" is the slice's own rule).</summary>
    public static IRuleBuilderOptions<T, string?> EntityType<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(t => t is null || ActivityRules.IsEntityType(t))
            .WithMessage("'entityType' must be 1-64 characters of a-z, 0-9 and '_', starting with a letter.");

    /// <summary>An entity id, when one is given (null passes: "required" is the slice's own rule).</summary>
    public static IRuleBuilderOptions<T, string?> EntityId<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(i => i is null || ActivityRules.IsEntityId(i))
            .WithMessage($"'entityId' must be 1-{ActivityRules.MaxEntityIdLength} characters without control characters.");

    public static IRuleBuilderOptions<T, string?> Outcome<T>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(o => o is null || ActivityRules.TryParseOutcome(o, out _))
            .WithMessage($"'outcome' must be one of {ActivityRules.AllOutcomes}.");
}

/// <summary>The filters the activity list and the live feed share.</summary>
internal interface IActivityFilter
{
    string? ActorId { get; }

    string? Action { get; }

    string? EntityType { get; }

    string? Outcome { get; }
}

/// <summary>One set of rules for <see cref="IActivityFilter"/>, added by the list's and the feed's validators.</summary>
internal static class ActivityFilterRules
{
    public static void AddActivityFilterRules<T>(this AbstractValidator<T> validator)
        where T : IActivityFilter
    {
        validator.RuleFor(x => x.ActorId).ActorIdFilter();
        validator.RuleFor(x => x.Action).ActionFilter();
        validator.RuleFor(x => x.EntityType).EntityType();
        validator.RuleFor(x => x.Outcome).Outcome();
    }
}
