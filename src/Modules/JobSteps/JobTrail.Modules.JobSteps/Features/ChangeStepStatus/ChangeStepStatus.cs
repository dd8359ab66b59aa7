using JobTrail.Modules.JobSteps.Contracts;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.JobSteps.Features.ChangeStepStatus;

internal sealed record ChangeStepStatusBody(string? Status, string? Error);

[RequiresScope(Scopes.JobsWrite)]
[Audited("job_step.status_changed", "job_step")]
internal sealed record ChangeStepStatusCommand(Guid JobId, Guid StepId, string? Status, string? Error)
    : StepChangeCommand(JobId, StepId)
{
    public override IReadOnlyDictionary<string, object?>? GetAuditMetadata(StepResponse? response) =>
        new Dictionary<string, object?> { ["jobId"] = JobId, ["to"] = Status };
}

internal sealed class ChangeStepStatusValidator : StepChangeValidator<ChangeStepStatusCommand>
{
    private static readonly string Targets = "RUNNING, COMPLETED, FAILED";

    public ChangeStepStatusValidator()
    {
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
    public Task<StepResponse> Handle(ChangeStepStatusCommand request, CancellationToken cancellationToken) =>
        db.ChangeStepAsync(mediator, request, step =>
        {
            EnumText.TryParse<StepStatus>(request.Status, out var next);
            step.TransitionTo(next, request.Error, clock.UtcNowMicros());
            return new JobStepStatusChanged(
                step.JobId, step.Id, step.Name, step.Ordinal, EnumText.Spell(step.Phase), EnumText.Spell(step.Type),
                EnumText.Spell(step.Status), step.DurationMs, step.Error);
        }, cancellationToken);
}
