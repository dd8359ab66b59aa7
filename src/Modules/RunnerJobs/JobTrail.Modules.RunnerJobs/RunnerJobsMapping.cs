using JobTrail.BuildingBlocks.Mapping;
using JobTrail.Modules.RunnerJobs.Domain;
using JobTrail.Modules.RunnerJobs.Features;

namespace JobTrail.Modules.RunnerJobs;

/// <summary>How a stored job becomes its response; compiled at start-up so a bad mapping stops the host.</summary>
internal static class RunnerJobsMapping
{
    public static TypeAdapterConfig Config { get; } = ModuleMapping.For<RunnerJob, JobResponse>(map => map
        .Map(d => d.Metadata, s => JsonRules.FromStoredJson(s.Metadata)));
}
