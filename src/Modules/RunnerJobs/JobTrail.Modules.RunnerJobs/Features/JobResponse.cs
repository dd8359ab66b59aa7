using JobTrail.Modules.RunnerJobs.Domain;

namespace JobTrail.Modules.RunnerJobs.Features;

/// <summary>A job as the API shows it; built from the row by <see cref="RunnerJobsMapping"/>.</summary>
internal sealed record JobResponse(
    Guid Id,
    Guid WorkspaceId,
    string Type,
    string? Name,
    JobStatus Status,
    JsonElement? Metadata,
    string CreatedBy,
    DateTime CreatedAt,
    DateTime? QueuedAt,
    DateTime? StartedAt,
    DateTime? CompletedAt,
    long? DurationMs,
    string? Error);
