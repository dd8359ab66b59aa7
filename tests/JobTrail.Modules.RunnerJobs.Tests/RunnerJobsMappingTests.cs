using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.RunnerJobs.Domain;
using JobTrail.Modules.RunnerJobs.Features;
using Mapster;

namespace JobTrail.Modules.RunnerJobs.Tests;

public sealed class RunnerJobsMappingTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void The_job_mapping_compiles_and_spells_the_status_as_the_api_does()
    {
        RunnerJobsMapping.Config.Compile();
        var job = new RunnerJob
        {
            Id = Guid.CreateVersion7(), WorkspaceId = Guid.CreateVersion7(), Type = "build", Name = "nightly",
            Metadata = """{"branch":"main"}""", CreatedBy = "runner:build-7", CreatedAt = T0,
        };
        job.TransitionTo(JobStatus.Running, null, T0.AddSeconds(1));

        var response = job.Adapt<JobResponse>(RunnerJobsMapping.Config);

        Assert.Equal("RUNNING", JsonSerializer.SerializeToElement(response, JsonDefaults.Options).GetProperty("status").GetString());
        Assert.Equal("main", response.Metadata!.Value.GetProperty("branch").GetString());
        Assert.Equal((job.Id, job.WorkspaceId, "build", "nightly", "runner:build-7"), (response.Id, response.WorkspaceId, response.Type, response.Name, response.CreatedBy));
        Assert.Equal((T0, (DateTime?)T0.AddSeconds(1), (DateTime?)null), (response.CreatedAt, response.StartedAt, response.CompletedAt));
    }

    [Fact]
    public void A_job_without_metadata_maps_to_no_metadata()
    {
        var job = new RunnerJob { Id = Guid.CreateVersion7(), Type = "build", CreatedBy = "runner:build-7" };

        Assert.Null(job.Adapt<JobResponse>(RunnerJobsMapping.Config).Metadata);
    }
}
