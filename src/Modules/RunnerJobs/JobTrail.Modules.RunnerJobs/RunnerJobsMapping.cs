using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.RunnerJobs.Domain;
using JobTrail.Modules.RunnerJobs.Features;
using Mapster;

namespace JobTrail.Modules.RunnerJobs;

/// <summary>How a stored job becomes its response; compiled at start-up so a bad mapping stops the host.</summary>
internal static class RunnerJobsMapping
{
    public static TypeAdapterConfig Config { get; } = Create();

    private static TypeAdapterConfig Create()
    {
        // Every response field must come from somewhere: a renamed column fails Compile(), not a request.
        var config = new TypeAdapterConfig { RequireDestinationMemberSource = true };
        config.NewConfig<RunnerJob, JobResponse>()
            .Map(d => d.Metadata, s => JsonRules.FromStoredJson(s.Metadata));
        return config;
    }
}
