using JobTrail.BuildingBlocks.Mapping;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Features;

namespace JobTrail.Modules.JobSteps;

/// <summary>How a stored step becomes its response; compiled at start-up so a bad mapping stops the host.</summary>
internal static class JobStepsMapping
{
    public static TypeAdapterConfig Config { get; } = ModuleMapping.For<JobStep, StepResponse>();
}
