using JobTrail.Modules.JobSteps.Contracts;
using JobTrail.Modules.JobSteps.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.JobSteps.Features.RecordTokenUsage;

internal sealed record RecordTokenUsageBody(long? Input, long? Output);

[RequiresScope(Scopes.JobsWrite)]
[Audited("job_step.tokens_recorded", "job_step")]
internal sealed record RecordTokenUsageCommand(Guid JobId, Guid StepId, long? Input, long? Output)
    : StepChangeCommand(JobId, StepId)
{
    public override IReadOnlyDictionary<string, object?>? GetAuditMetadata(StepResponse? response) =>
        new Dictionary<string, object?> { ["jobId"] = JobId, ["input"] = Input, ["output"] = Output };
}

internal sealed class RecordTokenUsageValidator : StepChangeValidator<RecordTokenUsageCommand>
{
    public const long MaxPerReport = 1_000_000_000;

    public RecordTokenUsageValidator()
    {
        RuleFor(x => x.Input).NotNull().WithMessage("'input' is required.")
            .InclusiveBetween(0, MaxPerReport).WithMessage($"'input' must be between 0 and {MaxPerReport}.");
        RuleFor(x => x.Output).NotNull().WithMessage("'output' is required.")
            .InclusiveBetween(0, MaxPerReport).WithMessage($"'output' must be between 0 and {MaxPerReport}.");
    }
}

internal sealed class RecordTokenUsageHandler(JobStepsDbContext db, IMediator mediator)
    : IRequestHandler<RecordTokenUsageCommand, StepResponse>
{
    public Task<StepResponse> Handle(RecordTokenUsageCommand request, CancellationToken cancellationToken) =>
        db.ChangeStepAsync(mediator, request, step =>
        {
            step.AddTokens(request.Input!.Value, request.Output!.Value);
            return new JobStepTokensRecorded(step.JobId, step.Id, request.Input.Value, request.Output.Value, step.TokensInput, step.TokensOutput);
        }, cancellationToken);
}
