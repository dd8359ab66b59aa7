using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.JobSteps.Contracts;
using JobTrail.Modules.JobSteps.Persistence;
using Mapster;
using MediatR;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.JobSteps.Features.RecordTokenUsage;

internal sealed record RecordTokenUsageBody(long? Input, long? Output);

[RequiresScope(Scopes.JobsWrite)]
[Audited("job_step.tokens_recorded", "job_step")]
internal sealed record RecordTokenUsageCommand(Guid JobId, Guid StepId, long? Input, long? Output)
    : ICommand<StepResponse>, IAuditedCommand<StepResponse>
{
    public string? GetAuditEntityId(StepResponse? response) => StepId.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(StepResponse? response) =>
        new Dictionary<string, object?> { ["jobId"] = JobId, ["input"] = Input, ["output"] = Output };
}

internal sealed class RecordTokenUsageValidator : AbstractValidator<RecordTokenUsageCommand>
{
    public const long MaxPerReport = 1_000_000_000;

    public RecordTokenUsageValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.StepId).NotEmpty().WithMessage("'stepId' must be a step id.");
        RuleFor(x => x.Input).NotNull().WithMessage("'input' is required.")
            .InclusiveBetween(0, MaxPerReport).WithMessage($"'input' must be between 0 and {MaxPerReport}.");
        RuleFor(x => x.Output).NotNull().WithMessage("'output' is required.")
            .InclusiveBetween(0, MaxPerReport).WithMessage($"'output' must be between 0 and {MaxPerReport}.");
    }
}

internal sealed class RecordTokenUsageHandler(JobStepsDbContext db, IMediator mediator)
    : IRequestHandler<RecordTokenUsageCommand, StepResponse>
{
    public async Task<StepResponse> Handle(RecordTokenUsageCommand request, CancellationToken cancellationToken)
    {
        var step = await db.LockStepForChangeAsync(mediator, request.JobId, request.StepId, cancellationToken);
        step.AddTokens(request.Input!.Value, request.Output!.Value);
        await db.SaveChangesAsync(cancellationToken);
        // Subscribers (the event log) write in this transaction: their failure rolls the report back.
        await mediator.Publish(
            new JobStepTokensRecorded(step.JobId, step.Id, request.Input.Value, request.Output.Value, step.TokensInput, step.TokensOutput),
            cancellationToken);
        return step.Adapt<StepResponse>(JobStepsMapping.Config);
    }
}
