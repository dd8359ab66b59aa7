using JobTrail.BuildingBlocks;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Modules.JobEvents;

public static class JobEventsModule
{
    public static IServiceCollection AddJobEventsModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(JobEventStore.Schema, typeof(JobEventsModule).Assembly, migrationOrder: 40);
        services.AddScoped<JobEventStore>();
        services.AddScoped<ClientEventWriter>();
        return services;
    }
}
