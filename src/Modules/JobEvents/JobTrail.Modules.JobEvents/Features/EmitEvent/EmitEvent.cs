using FluentValidation.Results;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.JobEvents.Features.EmitEvent;

/// <summary>A runner reports one event about its job. A repeat with the same Idempotency-Key returns the first event.</summary>
[RequiresScope(Scopes.EventsWrite)]
[NotAudited("The event log records its own actor and correlation id for every event; an activity row per event would duplicate it.")]
[EmitRequest]
internal sealed record EmitEventCommand(
    Guid JobId, string? Type, Guid? StepId, JsonElement? Payload, DateTimeOffset? OccurredAt, string? IdempotencyKey)
    : ICommand<EmittedEvents>;

internal sealed class EmitEventValidator : AbstractValidator<EmitEventCommand>
{
    public EmitEventValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x).Custom((command, context) =>
        {
            var failures = new List<ValidationFailure>();
            EventRules.Check(new EventDraft(command.Type, command.StepId, command.Payload, command.OccurredAt), prefix: string.Empty, failures);
            failures.AddTo(context);
        });
        RuleFor(x => x.IdempotencyKey).ValidIdempotencyKey();
    }
}

internal sealed class EmitEventHandler(ClientEventWriter writer) : IRequestHandler<EmitEventCommand, EmittedEvents>
{
    public Task<EmittedEvents> Handle(EmitEventCommand request, CancellationToken cancellationToken) =>
        writer.EmitAsync(
            request.JobId, [new EventDraft(request.Type, request.StepId, request.Payload, request.OccurredAt)], request.IdempotencyKey, isBatch: false, cancellationToken);
}
