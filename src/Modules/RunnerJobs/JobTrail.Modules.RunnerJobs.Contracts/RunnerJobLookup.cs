using MediatR;

namespace JobTrail.Modules.RunnerJobs.Contracts;

/// <summary>
/// Another module asks for a job of the current workspace. With <paramref name="LockForUpdate"/>
/// the job's row stays locked until the command commits, so its status cannot change meanwhile.
/// Answers null when the job does not exist in this workspace.
/// </summary>
public sealed record LookupRunnerJob(Guid JobId, bool LockForUpdate) : IRequest<RunnerJobSnapshot?>;

/// <summary>What other modules may know of a job. <see cref="Status"/> is the API spelling (RUNNING, …).</summary>
public sealed record RunnerJobSnapshot(Guid Id, Guid WorkspaceId, string Type, string Status, bool IsTerminal);
