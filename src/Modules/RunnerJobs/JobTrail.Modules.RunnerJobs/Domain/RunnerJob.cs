
namespace JobTrail.Modules.RunnerJobs.Domain;

internal enum JobStatus
{
    Pending,
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

internal sealed class RunnerJob : IWorkspaceOwned
{
    public Guid Id { get; init; }
    public Guid WorkspaceId { get; init; }
    public required string Type { get; init; }
    public string? Name { get; init; }
    public JobStatus Status { get; private set; }
    public string? Metadata { get; init; }
    public required string CreatedBy { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? QueuedAt { get; private set; }
    public DateTime? StartedAt { get; private set; }
    public DateTime? CompletedAt { get; private set; }
    public long? DurationMs { get; private set; }
    public string? Error { get; private set; }

    public bool IsTerminal => JobStateMachine.IsTerminal(Status);

    /// <summary>Moves the job on, stamping the time of each stage; the duration runs from start to end.</summary>
    public void TransitionTo(JobStatus next, string? error, DateTime now)
    {
        JobStateMachine.EnsureAllowed(Status, next);
        Status = next;
        switch (next)
        {
            case JobStatus.Queued:
                QueuedAt = now;
                break;
            case JobStatus.Running:
                StartedAt = now;
                break;
            default:
                CompletedAt = now;
                DurationMs = ClockExtensions.DurationMs(StartedAt, CompletedAt);
                Error = error;
                break;
        }
    }
}

internal static class JobStateMachine
{
    private static readonly StateMachine<JobStatus> Rules = new("job", "job_terminal", new Dictionary<JobStatus, JobStatus[]>
    {
        [JobStatus.Pending] = [JobStatus.Queued, JobStatus.Running, JobStatus.Cancelled],
        [JobStatus.Queued] = [JobStatus.Running, JobStatus.Cancelled],
        [JobStatus.Running] = [JobStatus.Completed, JobStatus.Failed, JobStatus.Cancelled],
        [JobStatus.Completed] = [],
        [JobStatus.Failed] = [],
        [JobStatus.Cancelled] = [],
    });

    public static bool IsTerminal(JobStatus status) => Rules.IsTerminal(status);

    public static bool CanMove(JobStatus from, JobStatus to) => Rules.CanMove(from, to);

    public static void EnsureAllowed(JobStatus from, JobStatus to) => Rules.EnsureAllowed(from, to);
}
