using FluentValidation;
using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.RunnerJobs.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Modules.RunnerJobs;

public static class RunnerJobsModule
{
    public static IServiceCollection AddRunnerJobsModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(RunnerJobsDbContext.Schema, typeof(RunnerJobsModule).Assembly, migrationOrder: 20);
        // Validators stay internal sealed; they run only in the ValidationBehavior.
        services.AddValidatorsFromAssembly(typeof(RunnerJobsModule).Assembly, ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddModuleDbContext<RunnerJobsDbContext>();
        // A response field without a source stops start-up here instead of failing its first request.
        RunnerJobsMapping.Config.Compile();
        return services;
    }
}
