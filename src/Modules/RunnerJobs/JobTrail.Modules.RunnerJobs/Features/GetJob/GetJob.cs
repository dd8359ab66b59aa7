using JobTrail.Modules.RunnerJobs.Persistence;

namespace JobTrail.Modules.RunnerJobs.Features.GetJob;

[RequiresScope(Scopes.JobsRead)]
internal sealed record GetJobQuery(Guid JobId) : IQuery<JobResponse>;

internal sealed class GetJobValidator : AbstractValidator<GetJobQuery>
{
    public GetJobValidator() => RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
}

internal sealed class GetJobHandler(RunnerJobsDbContext db) : IRequestHandler<GetJobQuery, JobResponse>
{
    public async Task<JobResponse> Handle(GetJobQuery request, CancellationToken cancellationToken) =>
        (await db.Jobs.SingleOrNotFoundAsync(j => j.Id == request.JobId, () => RunnerJobErrors.NotFound(request.JobId), cancellationToken))
        .Adapt<JobResponse>(RunnerJobsMapping.Config);
}
