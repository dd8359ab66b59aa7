using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobSteps.Domain;

namespace JobTrail.Modules.JobSteps.Features;

/// <summary>The step.* and ai.* events a step's changes append to its job's event log, in the changing transaction.</summary>
internal static class StepEvents
{
    public static AppendJobEvent StatusChanged(JobStep step) => step.Status switch
    {
        StepStatus.Running => Append(step, JobEventTypes.StepStarted,
            new { stepId = step.Id, name = step.Name, ordinal = step.Ordinal, phase = EnumText.Spell(step.Phase), type = EnumText.Spell(step.Type) }),
        StepStatus.Completed => Append(step, JobEventTypes.StepCompleted,
            new { stepId = step.Id, name = step.Name, ordinal = step.Ordinal, durationMs = step.DurationMs }),
        StepStatus.Failed => Append(step, JobEventTypes.StepFailed,
            new { stepId = step.Id, name = step.Name, ordinal = step.Ordinal, durationMs = step.DurationMs, error = step.Error }),
        _ => throw new InvalidOperationException($"No step event describes a move to {EnumText.Spell(step.Status)}."),
    };

    public static AppendJobEvent TokensUsed(JobStep step, long input, long output) =>
        Append(step, JobEventTypes.AiTokensUsed, new { input, output, totalInput = step.TokensInput, totalOutput = step.TokensOutput });

    private static AppendJobEvent Append<TPayload>(JobStep step, string type, TPayload payload) =>
        new(step.JobId, type, step.Id, JsonSerializer.Serialize(payload, JsonDefaults.Options));
}
