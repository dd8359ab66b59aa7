using MediatR;

namespace JobTrail.Modules.JobSteps.Contracts;

/// <summary>
/// Another module asks which of <paramref name="StepIds"/> are steps of the job, in the current
/// workspace. Answers only the steps found; an unknown id, or one of another job, is left out.
/// </summary>
public sealed record LookupJobSteps(Guid JobId, IReadOnlyList<Guid> StepIds) : IRequest<IReadOnlyList<JobStepSnapshot>>;

/// <summary>What other modules may know of a step. Type and status are the API spellings (AI_ACTION, RUNNING, …).</summary>
public sealed record JobStepSnapshot(Guid Id, Guid JobId, int Ordinal, string Name, string Type, string Status);
