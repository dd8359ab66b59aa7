using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.RunnerJobs.Domain;

namespace JobTrail.Modules.RunnerJobs.Features;

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
    string? Error)
{
    public static JobResponse From(RunnerJob job) => new(
        job.Id, job.WorkspaceId, job.Type, job.Name, job.Status, JsonRules.FromStoredJson(job.Metadata), job.CreatedBy,
        job.CreatedAt, job.QueuedAt, job.StartedAt, job.CompletedAt, job.DurationMs, job.Error);
}
