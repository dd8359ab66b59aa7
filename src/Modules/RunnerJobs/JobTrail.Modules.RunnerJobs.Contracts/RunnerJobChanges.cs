using MediatR;

namespace JobTrail.Modules.RunnerJobs.Contracts;

/// <summary>
/// Published inside the transaction that creates a job: a handler's failure rolls the job back.
/// </summary>
public sealed record RunnerJobCreated(Guid JobId, string Type, string? Name) : INotification;

/// <summary>
/// Published inside the transaction that moves a job from <paramref name="From"/> to <paramref name="To"/>
/// (API spellings: QUEUED, RUNNING, …): a handler's failure rolls the move back.
/// <paramref name="DurationMs"/> and <paramref name="Error"/> are the job's, as stored after the move.
/// </summary>
public sealed record RunnerJobStatusChanged(Guid JobId, string From, string To, long? DurationMs, string? Error) : INotification;
