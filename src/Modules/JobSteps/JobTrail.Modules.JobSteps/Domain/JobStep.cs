
namespace JobTrail.Modules.JobSteps.Domain;

internal enum StepPhase
{
    Setup,
    Execution,
    Validation,
    Cleanup,
}

internal enum StepType
{
    Command,
    AiAction,
    Gate,
    Artifact,
}

internal enum StepStatus
{
    Pending,
    Running,
    Completed,
    Failed,
}

internal sealed class JobStep : IWorkspaceOwned
{
    public Guid Id { get; init; }
    public Guid WorkspaceId { get; init; }
    public Guid JobId { get; init; }
    public int Ordinal { get; init; }
    public required string Name { get; init; }
    public StepPhase Phase { get; init; }
    public StepType Type { get; init; }
    public StepStatus Status { get; private set; }
    public required string CreatedBy { get; init; }
    public DateTime CreatedAt { get; init; }
    public DateTime? StartedAt { get; private set; }
    public DateTime? CompletedAt { get; private set; }
    public long? DurationMs { get; private set; }
    public long TokensInput { get; private set; }
    public long TokensOutput { get; private set; }
    public string? Error { get; private set; }

    /// <summary>PENDING → RUNNING → COMPLETED | FAILED; the duration is measured here, never sent.</summary>
    public void TransitionTo(StepStatus next, string? error, DateTime now)
    {
        StepStateMachine.EnsureAllowed(Status, next);
        Status = next;
        if (next == StepStatus.Running)
        {
            StartedAt = now;
            return;
        }

        CompletedAt = now;
        DurationMs = ClockExtensions.DurationMs(StartedAt, CompletedAt);
        Error = error;
    }

    /// <summary>Token counts only make sense for AI actions; they add up across reports.</summary>
    public void AddTokens(long input, long output)
    {
        if (Type != StepType.AiAction)
        {
            throw new ConflictException(
                $"Token usage can only be recorded on AI_ACTION steps; this step is {EnumText.Spell(Type)}.", "not_an_ai_step");
        }

        checked
        {
            TokensInput += input;
            TokensOutput += output;
        }
    }
}

internal static class StepStateMachine
{
    private static readonly StateMachine<StepStatus> Rules = new("step", "step_terminal", new Dictionary<StepStatus, StepStatus[]>
    {
        [StepStatus.Pending] = [StepStatus.Running],
        [StepStatus.Running] = [StepStatus.Completed, StepStatus.Failed],
        [StepStatus.Completed] = [],
        [StepStatus.Failed] = [],
    });

    public static bool IsTerminal(StepStatus status) => Rules.IsTerminal(status);

    public static bool CanMove(StepStatus from, StepStatus to) => Rules.CanMove(from, to);

    public static void EnsureAllowed(StepStatus from, StepStatus to) => Rules.EnsureAllowed(from, to);
}
