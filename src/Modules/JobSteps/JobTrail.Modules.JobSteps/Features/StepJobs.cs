using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Persistence;
using JobTrail.Modules.RunnerJobs.Contracts;

namespace JobTrail.Modules.JobSteps.Features;

/// <summary>What every step slice asks of its job: that it exists, that it is open, and the step under lock.</summary>
internal static class StepJobs
{
    public static NotFoundException JobNotFound(Guid jobId) => new($"Runner job {jobId} does not exist.", "job_not_found");

    public static NotFoundException StepNotFound(Guid jobId, Guid stepId) => new($"Step {stepId} does not exist in runner job {jobId}.", "step_not_found");

    /// <summary>The job, locked until commit so it cannot turn terminal underneath a step change.</summary>
    public static async Task<RunnerJobSnapshot> LockOpenJobAsync(this IMediator mediator, Guid jobId, CancellationToken cancellationToken)
    {
        var job = await mediator.Send(new LookupRunnerJob(jobId, LockForUpdate: true), cancellationToken) ?? throw JobNotFound(jobId);
        if (job.IsTerminal)
        {
            throw new ConflictException($"Runner job {jobId} is {job.Status}; its steps can no longer change.", "job_terminal");
        }

        return job;
    }

    /// <summary>
    /// The step, locked for change after its job (job first, then step: one lock order for every step change),
    /// with the job open; 404 for an unknown job or step, 409 for a finished job.
    /// </summary>
    public static async Task<JobStep> LockStepForChangeAsync(
        this JobStepsDbContext db, IMediator mediator, Guid jobId, Guid stepId, CancellationToken cancellationToken)
    {
        await mediator.LockOpenJobAsync(jobId, cancellationToken);
        return await db.Steps
            .FromSql($"select * from job_steps.steps where id = {stepId} and job_id = {jobId} for update")
            .SingleOrDefaultAsync(cancellationToken)
            ?? throw StepNotFound(jobId, stepId);
    }

    public static async Task EnsureJobExistsAsync(this IMediator mediator, Guid jobId, CancellationToken cancellationToken)
    {
        _ = await mediator.Send(new LookupRunnerJob(jobId, LockForUpdate: false), cancellationToken) ?? throw JobNotFound(jobId);
    }
}
