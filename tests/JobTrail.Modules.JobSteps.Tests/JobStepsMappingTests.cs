using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Features;
using Mapster;

namespace JobTrail.Modules.JobSteps.Tests;

public sealed class JobStepsMappingTests
{
    [Fact]
    public void The_step_mapping_compiles_and_spells_phase_type_and_status_as_the_api_does()
    {
        JobStepsMapping.Config.Compile();
        var step = new JobStep
        {
            Id = Guid.CreateVersion7(), JobId = Guid.CreateVersion7(), Ordinal = 3, Name = "review",
            Phase = StepPhase.Validation, Type = StepType.AiAction, CreatedBy = "runner:build-7",
        };
        step.AddTokens(120, 30);

        var response = step.Adapt<StepResponse>(JobStepsMapping.Config);

        var json = JsonSerializer.SerializeToElement(response, JsonDefaults.Options);
        Assert.Equal(
            ("VALIDATION", "AI_ACTION", "PENDING"),
            (json.GetProperty("phase").GetString(), json.GetProperty("type").GetString(), json.GetProperty("status").GetString()));
        Assert.Equal((step.Id, step.JobId, 3, "review"), (response.Id, response.JobId, response.Ordinal, response.Name));
        Assert.Equal((120L, 30L), (response.TokensInput, response.TokensOutput));
    }
}
