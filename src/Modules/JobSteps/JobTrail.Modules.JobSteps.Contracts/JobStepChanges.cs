using MediatR;

namespace JobTrail.Modules.JobSteps.Contracts;

/// <summary>
/// Published inside the transaction that moves a step to <paramref name="Status"/> (API spellings:
/// RUNNING, COMPLETED, FAILED; phase and type likewise): a handler's failure rolls the move back.
/// <paramref name="DurationMs"/> and <paramref name="Error"/> are the step's, as stored after the move.
/// </summary>
public sealed record JobStepStatusChanged(
    Guid JobId,
    Guid StepId,
    string Name,
    int Ordinal,
    string Phase,
    string Type,
    string Status,
    long? DurationMs,
    string? Error) : INotification;

/// <summary>
/// Published inside the transaction that adds one report of <paramref name="Input"/> and
/// <paramref name="Output"/> tokens to a step; the totals are the step's after the report.
/// </summary>
public sealed record JobStepTokensRecorded(Guid JobId, Guid StepId, long Input, long Output, long TotalInput, long TotalOutput) : INotification;
