using JobTrail.Modules.RunnerJobs.Contracts;
using JobTrail.Modules.RunnerJobs.Domain;
using JobTrail.Modules.RunnerJobs.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.RunnerJobs.Features.ChangeJobStatus;

internal sealed record ChangeJobStatusBody(string? Status, string? Error);

[RequiresScope(Scopes.JobsWrite)]
[Audited("runner_job.status_changed", "runner_job")]
internal sealed record ChangeJobStatusCommand(Guid JobId, string? Status, string? Error)
    : ICommand<JobResponse>, IAuditedCommand<JobResponse>
{
    public string? GetAuditEntityId(JobResponse? response) => JobId.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(JobResponse? response) =>
        new Dictionary<string, object?> { ["to"] = Status };
}

internal sealed class ChangeJobStatusValidator : AbstractValidator<ChangeJobStatusCommand>
{
    public ChangeJobStatusValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.Status).NotEmpty().WithMessage("'status' is required.")
            .Must(s => EnumText.TryParse<JobStatus>(s, out _)).WithMessage($"'status' must be one of {EnumText.AllSpelled<JobStatus>()}.");
        RuleFor(x => x.Error).MaximumLength(4000).WithMessage("'error' must be at most 4000 characters.");
        RuleFor(x => x.Error).Null()
            .When(x => x.Status is not ("FAILED" or "CANCELLED"))
            .WithMessage("'error' may only be sent with status FAILED or CANCELLED.");
    }
}

internal sealed class ChangeJobStatusHandler(RunnerJobsDbContext db, IMediator mediator, TimeProvider clock)
    : IRequestHandler<ChangeJobStatusCommand, JobResponse>
{
    public async Task<JobResponse> Handle(ChangeJobStatusCommand request, CancellationToken cancellationToken)
    {
        // The row lock orders concurrent transitions of one job: the second sees the first's result.
        var job = await db.Jobs
            .FromSql($"select * from runner_jobs.jobs where id = {request.JobId} for update")
            .SingleOrDefaultAsync(cancellationToken)
            ?? throw RunnerJobErrors.NotFound(request.JobId);
        EnumText.TryParse<JobStatus>(request.Status, out var next);
        var previous = job.Status;
        job.TransitionTo(next, request.Error, clock.UtcNowMicros());
        await db.SaveChangesAsync(cancellationToken);
        // Subscribers (the event log) write in this transaction: their failure rolls the move back.
        await mediator.Publish(
            new RunnerJobStatusChanged(job.Id, EnumText.Spell(previous), EnumText.Spell(job.Status), job.DurationMs, job.Error),
            cancellationToken);
        return job.Adapt<JobResponse>(RunnerJobsMapping.Config);
    }
}
