using System.Collections.Frozen;

namespace JobTrail.Modules.JobEvents.Contracts;

/// <summary>
/// The event type catalog. Clients may emit <see cref="ClientEmittable"/> types; the rest record
/// state changes and are emitted only by the modules that make those changes. A
/// <see cref="Terminal"/> event seals the job's log.
/// </summary>
public sealed record JobEventTypes
{
    public const string JobCreated = "job.created";
    public const string JobQueued = "job.queued";
    public const string JobStarted = "job.started";
    public const string JobCompleted = "job.completed";
    public const string JobFailed = "job.failed";
    public const string JobCancelled = "job.cancelled";

    public const string StepStarted = "step.started";
    public const string StepProgress = "step.progress";
    public const string StepOutput = "step.output";
    public const string StepCompleted = "step.completed";
    public const string StepFailed = "step.failed";

    public const string AiToolCalled = "ai.tool_called";
    public const string AiTokensUsed = "ai.tokens_used";
    public const string AiArtifactCreated = "ai.artifact_created";

    public const string GateStarted = "gate.started";
    public const string GatePassed = "gate.passed";
    public const string GateFailed = "gate.failed";

    /// <summary>A client's own delivery report: events it had to give up on, so a reader sees the hole.</summary>
    public const string ClientEventsLost = "client.events_lost";

    private JobEventTypes()
    {
    }

    /// <summary>Every type, in catalog order.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        JobCreated, JobQueued, JobStarted, JobCompleted, JobFailed, JobCancelled,
        StepStarted, StepProgress, StepOutput, StepCompleted, StepFailed,
        AiToolCalled, AiTokensUsed, AiArtifactCreated,
        GateStarted, GatePassed, GateFailed,
        ClientEventsLost,
    ];

    /// <summary>What a runner reports about its own work.</summary>
    public static IReadOnlySet<string> ClientEmittable { get; } = new[]
    {
        StepProgress, StepOutput, AiToolCalled, AiArtifactCreated, GateStarted, GatePassed, GateFailed, ClientEventsLost,
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Facts about state changes: written only in the transaction that makes the change.</summary>
    public static IReadOnlySet<string> SystemOnly { get; } =
        All.Where(t => !ClientEmittable.Contains(t)).ToFrozenSet(StringComparer.Ordinal);

    /// <summary>A job's last event: nothing may be appended after it.</summary>
    public static IReadOnlySet<string> Terminal { get; } =
        new[] { JobCompleted, JobFailed, JobCancelled }.ToFrozenSet(StringComparer.Ordinal);

    public static bool IsKnown(string? type) => type is not null && KnownSet.Contains(type);

    private static readonly FrozenSet<string> KnownSet = All.ToFrozenSet(StringComparer.Ordinal);
}
