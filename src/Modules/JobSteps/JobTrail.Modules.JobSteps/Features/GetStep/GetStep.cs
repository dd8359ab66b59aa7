using JobTrail.Modules.JobSteps.Persistence;

namespace JobTrail.Modules.JobSteps.Features.GetStep;

[RequiresScope(Scopes.JobsRead)]
internal sealed record GetStepQuery(Guid JobId, Guid StepId) : IQuery<StepResponse>;

internal sealed class GetStepValidator : AbstractValidator<GetStepQuery>
{
    public GetStepValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.StepId).NotEmpty().WithMessage("'stepId' must be a step id.");
    }
}

internal sealed class GetStepHandler(JobStepsDbContext db) : IRequestHandler<GetStepQuery, StepResponse>
{
    public async Task<StepResponse> Handle(GetStepQuery request, CancellationToken cancellationToken) =>
        (await db.Steps.SingleOrNotFoundAsync(
            s => s.Id == request.StepId && s.JobId == request.JobId, () => StepJobs.StepNotFound(request.JobId, request.StepId), cancellationToken))
        .Adapt<StepResponse>(JobStepsMapping.Config);
}
