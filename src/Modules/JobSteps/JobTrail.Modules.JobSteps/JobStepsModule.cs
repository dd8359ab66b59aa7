using FluentValidation;
using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.JobSteps.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Modules.JobSteps;

public static class JobStepsModule
{
    public static IServiceCollection AddJobStepsModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(JobStepsDbContext.Schema, typeof(JobStepsModule).Assembly, migrationOrder: 30);
        // Validators stay internal sealed; they run only in the ValidationBehavior.
        services.AddValidatorsFromAssembly(typeof(JobStepsModule).Assembly, ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddModuleDbContext<JobStepsDbContext>();
        // A response field without a source stops start-up here instead of failing its first request.
        JobStepsMapping.Config.Compile();
        return services;
    }
}
