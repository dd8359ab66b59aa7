
namespace JobTrail.Modules.RunnerJobs.Features;

internal static class RunnerJobErrors
{
    public static NotFoundException NotFound(Guid jobId) => new($"Runner job {jobId} does not exist.", "job_not_found");
}
