using System.Text.Json;

namespace JobTrail.Client;

/// <summary>A page of a list: <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

public enum JobStatus
{
    Pending,
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

public enum StepPhase
{
    Setup,
    Execution,
    Validation,
    Cleanup,
}

public enum StepType
{
    Command,
    AiAction,
    Gate,
    Artifact,
}

public enum StepStatus
{
    Pending,
    Running,
    Completed,
    Failed,
}

public enum ActivityOutcome
{
    Succeeded,
    Failed,
    Denied,
}

public sealed record RunnerJob(
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

public sealed record JobStep(
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

public sealed record JobEvent(
    Guid Id,
    Guid JobId,
    Guid WorkspaceId,
    long Seq,
    string Type,
    Guid? StepId,
    JsonElement? Payload,
    string ActorId,
    string CorrelationId,
    DateTime OccurredAt,
    DateTime RecordedAt)
{
    /// <summary>job.completed, job.failed or job.cancelled: nothing follows it in the job's log.</summary>
    public bool IsTerminal => JobEventType.IsTerminal(Type);
}

/// <summary>One event as a runner sends it (alone or in a batch).</summary>
public sealed record NewJobEvent(string Type, Guid? StepId = null, JsonElement? Payload = null, DateTimeOffset? OccurredAt = null)
{
    /// <summary>An event whose payload is <paramref name="payload"/> serialised as JSON (camelCase).</summary>
    public static NewJobEvent Create(string type, object? payload = null, Guid? stepId = null, DateTimeOffset? occurredAt = null) =>
        new(type, stepId, payload is null ? null : JsonSerializer.SerializeToElement(payload, JobTrailJson.Options), occurredAt);
}

public sealed record ActivityRecord(
    Guid Id,
    Guid WorkspaceId,
    string ActorId,
    string Action,
    string EntityType,
    string? EntityId,
    ActivityOutcome Outcome,
    JsonElement? Metadata,
    string? IpAddress,
    string? UserAgent,
    string? CorrelationId,
    DateTime OccurredAt);

/// <summary>The result of verifying a hash chain (a job's events, or the workspace's activity).</summary>
public sealed record ChainVerification(
    bool Valid,
    long Checked,
    long? FirstBadSeq,
    string? Reason,
    string? Detail,
    long? FromSeq,
    long? LastSeq,
    string? LastHash);

public sealed record Workspace(Guid Id, string Slug, string Name, DateTime CreatedAt, string CreatedBy);

/// <summary>A new key: <see cref="Key"/> is the plaintext, shown this once.</summary>
public sealed record CreatedApiKey(Guid Id, string Key, string Name, string ActorId, IReadOnlyList<string> Scopes, DateTime CreatedAt);

public sealed record ApiKey(Guid Id, string Name, string ActorId, IReadOnlyList<string> Scopes, DateTime CreatedAt, string CreatedBy, DateTime? RevokedAt, string? RevokedBy);

/// <summary>Filters of <c>GET /api/runner-jobs/{jobId}/events</c>; null means "not set".</summary>
public sealed record EventQuery(
    IReadOnlyList<string>? Types = null,
    long? AfterSeq = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    int? Limit = null,
    string? Cursor = null);

/// <summary>Filters of <c>GET /api/activity</c> (newest first); null means "not set".</summary>
public sealed record ActivityQuery(
    string? ActorId = null,
    string? Action = null,
    string? EntityType = null,
    string? EntityId = null,
    ActivityOutcome? Outcome = null,
    DateTimeOffset? From = null,
    DateTimeOffset? To = null,
    int? Limit = null,
    string? Cursor = null);

/// <summary>The event types of the catalog that a client deals with.</summary>
public static class JobEventType
{
    public const string JobCompleted = "job.completed";
    public const string JobFailed = "job.failed";
    public const string JobCancelled = "job.cancelled";
    public const string StepProgress = "step.progress";
    public const string StepOutput = "step.output";
    public const string AiToolCalled = "ai.tool_called";
    public const string AiArtifactCreated = "ai.artifact_created";
    public const string GateStarted = "gate.started";
    public const string GatePassed = "gate.passed";
    public const string GateFailed = "gate.failed";

    /// <summary>Written by <see cref="JobEventBuffer"/> when it had to give up on events: how many, which range.</summary>
    public const string ClientEventsLost = "client.events_lost";

    public static bool IsTerminal(string? type) => type is JobCompleted or JobFailed or JobCancelled;
}
