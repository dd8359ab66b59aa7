using JobTrail.Modules.JobEvents.Contracts;

namespace JobTrail.Modules.JobEvents.Tests;

public sealed class JobEventTypesTests
{
    [Fact]
    public void The_catalog_holds_the_eighteen_designed_types()
    {
        Assert.Equal(
            [
                "job.created", "job.queued", "job.started", "job.completed", "job.failed", "job.cancelled",
                "step.started", "step.progress", "step.output", "step.completed", "step.failed",
                "ai.tool_called", "ai.tokens_used", "ai.artifact_created",
                "gate.started", "gate.passed", "gate.failed",
                "client.events_lost",
            ],
            JobEventTypes.All);
    }

    [Fact]
    public void Every_type_is_either_client_emittable_or_system_only()
    {
        Assert.Empty(JobEventTypes.ClientEmittable.Intersect(JobEventTypes.SystemOnly));
        Assert.Equal(JobEventTypes.All.Order(StringComparer.Ordinal), JobEventTypes.ClientEmittable.Union(JobEventTypes.SystemOnly).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Clients_may_emit_progress_output_tool_calls_artifacts_gates_and_loss_reports_only()
    {
        Assert.Equal(
            ["ai.artifact_created", "ai.tool_called", "client.events_lost", "gate.failed", "gate.passed", "gate.started", "step.output", "step.progress"],
            JobEventTypes.ClientEmittable.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Only_the_ends_of_a_job_are_terminal_and_the_system_alone_emits_them()
    {
        Assert.Equal(["job.cancelled", "job.completed", "job.failed"], JobEventTypes.Terminal.Order(StringComparer.Ordinal));
        Assert.True(JobEventTypes.Terminal.IsSubsetOf(JobEventTypes.SystemOnly));
    }

    [Theory]
    [InlineData("step.output", true)]
    [InlineData("job.created", true)]
    [InlineData("STEP.OUTPUT", false)]
    [InlineData("step.output ", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Types_are_known_only_as_spelled_in_the_catalog(string? type, bool known) =>
        Assert.Equal(known, JobEventTypes.IsKnown(type));
}
