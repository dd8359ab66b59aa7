
namespace JobTrail.Modules.JobEvents.Features;

internal static class JobEventErrors
{
    public static NotFoundException JobNotFound(Guid jobId) => new($"Runner job {jobId} does not exist.", "job_not_found");

    public static NotFoundException EventNotFound(Guid jobId, Guid eventId) =>
        new($"Event {eventId} does not exist in runner job {jobId}.", "event_not_found");

    public static ConflictException Sealed(Guid jobId) =>
        new($"Runner job {jobId} has ended; its event log is sealed and takes no more events.", "job_terminal");

    public static ConflictException KeyReused(string key) =>
        new($"Idempotency-Key '{key}' was already used on this job for a different request.", "idempotency_key_reused");
}
