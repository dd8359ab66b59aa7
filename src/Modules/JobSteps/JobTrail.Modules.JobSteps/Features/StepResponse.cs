using JobTrail.BuildingBlocks.Errors;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.RunnerJobs.Contracts;
using MediatR;

namespace JobTrail.Modules.JobSteps.Features;

/// <summary>A step as the API shows it; built from the row by <see cref="JobStepsMapping"/>.</summary>
internal sealed record StepResponse(
    Guid Id,
    Guid JobId,
    int Ordinal,
    string Name,
    StepPhase Phase,
    StepType Type,
    StepStatus Status,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    long? DurationMs,
    long TokensInput,
    long TokensOutput,
    string? Error);

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

    public static async Task EnsureJobExistsAsync(this IMediator mediator, Guid jobId, CancellationToken cancellationToken)
    {
        _ = await mediator.Send(new LookupRunnerJob(jobId, LockForUpdate: false), cancellationToken) ?? throw JobNotFound(jobId);
    }
}
