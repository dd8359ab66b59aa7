using JobTrail.Modules.JobSteps.Domain;

namespace JobTrail.Modules.JobSteps.Features;

/// <summary>A step as the API shows it; built from the row by <see cref="JobStepsMapping"/>.</summary>
internal sealed record StepResponse(
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
