using JobTrail.Modules.RunnerJobs.Persistence;
using Microsoft.Extensions.Configuration;

namespace JobTrail.Modules.RunnerJobs;

public static class RunnerJobsModule
{
    public static IServiceCollection AddRunnerJobsModule(this IServiceCollection services, IConfiguration configuration) =>
        services.AddModule<RunnerJobsDbContext>(RunnerJobsDbContext.Schema, migrationOrder: 20, RunnerJobsMapping.Config);
}
