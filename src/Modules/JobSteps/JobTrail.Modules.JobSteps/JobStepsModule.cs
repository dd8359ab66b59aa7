using JobTrail.Modules.JobSteps.Persistence;
using Microsoft.Extensions.Configuration;

namespace JobTrail.Modules.JobSteps;

public static class JobStepsModule
{
    public static IServiceCollection AddJobStepsModule(this IServiceCollection services, IConfiguration configuration) =>
        services.AddModule<JobStepsDbContext>(JobStepsDbContext.Schema, migrationOrder: 30, JobStepsMapping.Config);
}
