using MediatR;

namespace JobTrail.Modules.JobEvents.Contracts;

/// <summary>
/// Appends one event to a job's log inside the sender's open transaction, so the event commits
/// exactly when the state change it describes does (and a failed write rolls the change back).
/// For modules that own state changes; any catalog type may be sent, a terminal job type seals the
/// log. The job's stream is created by its first event. <paramref name="PayloadJson"/> is a JSON
/// object or null. Refused with 409 (code <c>job_terminal</c>) once the log is sealed.
/// </summary>
public sealed record AppendJobEvent(Guid JobId, string Type, Guid? StepId, string? PayloadJson) : IRequest<AppendedJobEvent>;

/// <summary>The appended event's id and its per-job sequence number.</summary>
public sealed record AppendedJobEvent(Guid EventId, long Seq);
