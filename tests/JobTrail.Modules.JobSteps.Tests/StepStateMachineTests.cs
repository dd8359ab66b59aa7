using JobTrail.BuildingBlocks.Errors;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Features.CreateStep;
using JobTrail.Modules.JobSteps.Features.RecordTokenUsage;

namespace JobTrail.Modules.JobSteps.Tests;

public sealed class StepStateMachineTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    public static TheoryData<string, string> AllPairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var from in Enum.GetNames<StepStatus>())
        {
            foreach (var to in Enum.GetNames<StepStatus>())
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void Only_pending_to_running_and_running_to_an_end_are_allowed(string fromName, string toName)
    {
        var (from, to) = (Enum.Parse<StepStatus>(fromName), Enum.Parse<StepStatus>(toName));
        var expected = (from, to) is (StepStatus.Pending, StepStatus.Running)
            or (StepStatus.Running, StepStatus.Completed)
            or (StepStatus.Running, StepStatus.Failed);
        Assert.Equal(expected, StepStateMachine.CanMove(from, to));
    }

    [Fact]
    public void Completing_a_running_step_records_its_duration()
    {
        var step = NewStep(StepType.Command);
        step.TransitionTo(StepStatus.Running, null, T0);
        step.TransitionTo(StepStatus.Completed, null, T0.AddMilliseconds(2500));

        Assert.Equal(2500, step.DurationMs);
        Assert.Equal(T0.AddMilliseconds(2500), step.CompletedAt);
    }

    [Fact]
    public void Tokens_add_up_on_ai_steps_only()
    {
        var ai = NewStep(StepType.AiAction);
        ai.AddTokens(10, 1);
        ai.AddTokens(5, 2);
        Assert.Equal((15, 3), (ai.TokensInput, ai.TokensOutput));

        var error = Assert.Throws<ConflictException>(() => NewStep(StepType.Gate).AddTokens(1, 1));
        Assert.Equal("not_an_ai_step", error.Code);
    }

    [Theory]
    [InlineData("SETUP", "COMMAND", true)]
    [InlineData("CLEANUP", "AI_ACTION", true)]
    [InlineData("Setup", "COMMAND", false)]
    [InlineData("SETUP", "AiAction", false)]
    [InlineData("DEPLOY", "COMMAND", false)]
    public void Phases_and_types_use_exact_upper_case_spellings(string phase, string type, bool valid) =>
        Assert.Equal(valid, new CreateStepValidator().Validate(new CreateStepCommand(Guid.CreateVersion7(), "s", phase, type, null)).IsValid);

    [Theory]
    [InlineData(0L, 0L, true)]
    [InlineData(-1L, 0L, false)]
    [InlineData(0L, RecordTokenUsageValidator.MaxPerReport + 1, false)]
    public void Token_reports_are_non_negative_and_bounded(long input, long output, bool valid) =>
        Assert.Equal(valid, new RecordTokenUsageValidator().Validate(new RecordTokenUsageCommand(Guid.CreateVersion7(), Guid.CreateVersion7(), input, output)).IsValid);

    private static JobStep NewStep(StepType type) => new()
    {
        Id = Guid.CreateVersion7(), JobId = Guid.CreateVersion7(), Ordinal = 1, Name = "s", Type = type,
        Phase = StepPhase.Execution, CreatedBy = "user:1", CreatedAt = T0,
    };
}
