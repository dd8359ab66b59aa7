using JobTrail.Modules.RunnerJobs.Contracts;
using JobTrail.Modules.RunnerJobs.Domain;
using JobTrail.Modules.RunnerJobs.Persistence;

namespace JobTrail.Modules.RunnerJobs.Features.LookupJob;

/// <summary>Answers other modules' <see cref="LookupRunnerJob"/> inside their command's transaction.</summary>
internal sealed class LookupRunnerJobHandler(RunnerJobsDbContext db) : IRequestHandler<LookupRunnerJob, RunnerJobSnapshot?>
{
    public async Task<RunnerJobSnapshot?> Handle(LookupRunnerJob request, CancellationToken cancellationToken)
    {
        var query = request.LockForUpdate
            ? db.Jobs.FromSql($"select * from runner_jobs.jobs where id = {request.JobId} for update")
            : db.Jobs.Where(j => j.Id == request.JobId);
        var job = await query.AsNoTracking().SingleOrDefaultAsync(cancellationToken);
        return job is null
            ? null
            : new RunnerJobSnapshot(job.Id, job.WorkspaceId, job.Type, EnumText.Spell(job.Status), job.IsTerminal);
    }
}
