using FluentValidation;
using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.JobSteps.Contracts;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Persistence;
using Mapster;
using MediatR;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.JobSteps.Features.ChangeStepStatus;

internal sealed record ChangeStepStatusBody(string? Status, string? Error);

[RequiresScope(Scopes.JobsWrite)]
[Audited("job_step.status_changed", "job_step")]
internal sealed record ChangeStepStatusCommand(Guid JobId, Guid StepId, string? Status, string? Error)
    : ICommand<StepResponse>, IAuditedCommand<StepResponse>
{
    public string? GetAuditEntityId(StepResponse? response) => StepId.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(StepResponse? response) =>
        new Dictionary<string, object?> { ["jobId"] = JobId, ["to"] = Status };
}

internal sealed class ChangeStepStatusValidator : AbstractValidator<ChangeStepStatusCommand>
{
    private static readonly string Targets = "RUNNING, COMPLETED, FAILED";

    public ChangeStepStatusValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.StepId).NotEmpty().WithMessage("'stepId' must be a step id.");
        RuleFor(x => x.Status).NotEmpty().WithMessage("'status' is required.")
            .Must(s => EnumText.TryParse<StepStatus>(s, out var v) && v != StepStatus.Pending)
            .WithMessage($"'status' must be one of {Targets}.");
        RuleFor(x => x.Error).MaximumLength(4000).WithMessage("'error' must be at most 4000 characters.");
        RuleFor(x => x.Error).Null().When(x => x.Status != "FAILED").WithMessage("'error' may only be sent with status FAILED.");
    }
}

internal sealed class ChangeStepStatusHandler(JobStepsDbContext db, IMediator mediator, TimeProvider clock)
    : IRequestHandler<ChangeStepStatusCommand, StepResponse>
{
    public async Task<StepResponse> Handle(ChangeStepStatusCommand request, CancellationToken cancellationToken)
    {
        var step = await db.LockStepForChangeAsync(mediator, request.JobId, request.StepId, cancellationToken);
        EnumText.TryParse<StepStatus>(request.Status, out var next);
        step.TransitionTo(next, request.Error, clock.UtcNowMicros());
        await db.SaveChangesAsync(cancellationToken);
        // Subscribers (the event log) write in this transaction: their failure rolls the move back.
        await mediator.Publish(
            new JobStepStatusChanged(
                step.JobId, step.Id, step.Name, step.Ordinal, EnumText.Spell(step.Phase), EnumText.Spell(step.Type),
                EnumText.Spell(step.Status), step.DurationMs, step.Error),
            cancellationToken);
        return step.Adapt<StepResponse>(JobStepsMapping.Config);
    }
}
