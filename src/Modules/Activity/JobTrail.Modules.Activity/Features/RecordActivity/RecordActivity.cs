using FluentValidation.Results;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.Activity.Capture;
using JobTrail.Modules.Activity.Domain;

namespace JobTrail.Modules.Activity.Features.RecordActivity;

/// <summary>
/// An outside source (an identity provider's <c>auth.login</c>, <c>auth.logout</c>,
/// <c>auth.password_reset</c>) records an activity. The actor is the calling key's; the outcome
/// defaults to SUCCEEDED, so failed logins can be reported too.
/// </summary>
[RequiresScope(Scopes.ActivityWrite)]
[NotAudited("The row this command writes is the activity record itself; capturing it as well would record it twice.")]
internal sealed record RecordActivityCommand(string? Action, string? EntityType, string? EntityId, JsonElement? Metadata, string? Outcome)
    : ICommand<ActivityResponse>;

internal sealed class RecordActivityValidator : AbstractValidator<RecordActivityCommand>
{
    public RecordActivityValidator()
    {
        RuleFor(x => x.Action).NotEmpty().WithMessage("'action' is required.")
            .Must(ActivityRules.IsAction)
            .WithMessage("'action' must look like '<entity>.<verb>' (e.g. 'auth.login'): two parts of a-z, 0-9 and '_', each 1-64 characters starting with a letter.");
        RuleFor(x => x.EntityType).NotEmpty().WithMessage("'entityType' is required.")
            .EntityType();
        RuleFor(x => x.EntityId).NotEmpty().WithMessage("'entityId' is required.")
            .EntityId();
        RuleFor(x => x.Metadata).OptionalJsonObject("metadata", JsonRules.MaxMetadataBytes);
        RuleFor(x => x.Outcome).Outcome();
    }
}

internal sealed class RecordActivityHandler(ActivityRecorder recorder, DbSession session)
    : IRequestHandler<RecordActivityCommand, ActivityResponse>
{
    public async Task<ActivityResponse> Handle(RecordActivityCommand request, CancellationToken cancellationToken)
    {
        var action = request.Action!;
        if (ActivityRules.IsReservedAction(action))
        {
            throw new UnprocessableException(
                $"Actions on '{action[..action.IndexOf('.', StringComparison.Ordinal)]}' are recorded by JobTrail itself and cannot be sent.",
                "reserved_action");
        }

        var metadata = ActivityMetadata.FromClient(request.Metadata);
        // "[REDACTED]" may be longer than the value it replaces: the limit holds for what is stored.
        var size = metadata is null ? 0 : StoredJson.SizeOf(metadata);
        if (size > JsonRules.MaxMetadataBytes)
        {
            throw new ValidationException([new ValidationFailure(nameof(request.Metadata),
                JsonRules.TooLarge("metadata", JsonRules.MaxMetadataBytes, size) + " Secret values count as \"[REDACTED]\".")]);
        }

        var outcome = ActivityRules.TryParseOutcome(request.Outcome, out var sent) ? sent : ActivityOutcome.Succeeded;
        var entry = recorder.Describe(session.WorkspaceId, action, request.EntityType!, request.EntityId!, outcome, metadata);
        await recorder.AddInSessionAsync(entry, cancellationToken);
        return ActivityResponse.From(entry);
    }
}
