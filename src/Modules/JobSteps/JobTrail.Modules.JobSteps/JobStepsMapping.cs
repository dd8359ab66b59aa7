using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Features;
using Mapster;

namespace JobTrail.Modules.JobSteps;

/// <summary>How a stored step becomes its response; compiled at start-up so a bad mapping stops the host.</summary>
internal static class JobStepsMapping
{
    public static TypeAdapterConfig Config { get; } = Create();

    private static TypeAdapterConfig Create()
    {
        // Every response field must come from somewhere: a renamed column fails Compile(), not a request.
        var config = new TypeAdapterConfig { RequireDestinationMemberSource = true };
        config.NewConfig<JobStep, StepResponse>();
        return config;
    }
}
