using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.RunnerJobs.Persistence;
using Mapster;
using MediatR;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.RunnerJobs.Features.GetJob;

[RequiresScope(Scopes.JobsRead)]
internal sealed record GetJobQuery(Guid JobId) : IQuery<JobResponse>;

internal sealed class GetJobValidator : AbstractValidator<GetJobQuery>
{
    public GetJobValidator() => RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
}

internal sealed class GetJobHandler(RunnerJobsDbContext db) : IRequestHandler<GetJobQuery, JobResponse>
{
    public async Task<JobResponse> Handle(GetJobQuery request, CancellationToken cancellationToken)
    {
        var job = await db.Jobs.SingleOrDefaultAsync(j => j.Id == request.JobId, cancellationToken)
            ?? throw RunnerJobErrors.NotFound(request.JobId);
        return job.Adapt<JobResponse>(RunnerJobsMapping.Config);
    }
}
