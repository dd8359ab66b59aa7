using FluentValidation.Results;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.JobEvents.Features.EmitEvent;

namespace JobTrail.Modules.JobEvents.Features.EmitEventBatch;

internal sealed record EmitEventBatchBody(IReadOnlyList<EventDraft?>? Events);

/// <summary>The events of a batch are written together, in order, or not at all.</summary>
internal sealed record EventBatchResponse(IReadOnlyList<JobEventResponse> Items);

/// <summary>Up to 1000 events for one job in one transaction; captured once in the activity log, against the job.</summary>
[RequiresScope(Scopes.EventsWrite)]
[Audited("job_event.batch_emitted", "runner_job")]
[EmitRequest]
internal sealed record EmitEventBatchCommand(Guid JobId, IReadOnlyList<EventDraft?>? Events, string? IdempotencyKey)
    : ICommand<EmittedEvents>, IAuditedCommand<EmittedEvents>
{
    public string? GetAuditEntityId(EmittedEvents? response) => JobId.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(EmittedEvents? response) =>
        new Dictionary<string, object?> { ["count"] = Events?.Count };
}

internal sealed class EmitEventBatchValidator : AbstractValidator<EmitEventBatchCommand>
{
    public EmitEventBatchValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.Events).NotEmpty().WithMessage("'events' must hold at least one event.")
            .Must(e => e!.Count <= EventLimits.MaxBatchEvents).WithMessage($"'events' may hold at most {EventLimits.MaxBatchEvents} events.");
        RuleFor(x => x.Events).Custom((events, context) =>
        {
            if (events is not null)
            {
                var failures = new List<ValidationFailure>();
                EventRules.CheckAll(events, failures);
                failures.AddTo(context);
            }
        });
        RuleFor(x => x.IdempotencyKey).ValidIdempotencyKey();
    }
}

internal sealed class EmitEventBatchHandler(ClientEventWriter writer) : IRequestHandler<EmitEventBatchCommand, EmittedEvents>
{
    public Task<EmittedEvents> Handle(EmitEventBatchCommand request, CancellationToken cancellationToken) =>
        writer.EmitAsync(request.JobId, request.Events!.Select(e => e!).ToList(), request.IdempotencyKey, isBatch: true, cancellationToken);
}
