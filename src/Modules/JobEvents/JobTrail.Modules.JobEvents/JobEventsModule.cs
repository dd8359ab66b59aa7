using FluentValidation;
using JobTrail.BuildingBlocks;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Features.VerifyEventChain;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobEvents.Relay;
using JobTrail.Modules.JobEvents.Delivery;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Modules.JobEvents;

public static class JobEventsModule
{
    public static IServiceCollection AddJobEventsModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(EventLog.Schema, typeof(JobEventsModule).Assembly, migrationOrder: 40);
        // Validators stay internal sealed; they run only in the ValidationBehavior.
        services.AddValidatorsFromAssembly(typeof(JobEventsModule).Assembly, ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddScoped<EventLog>();
        services.AddScoped<EventChainReader>();
        services.AddScoped<ClientEventWriter>();
        services.AddSingleton(RelayOptions.From(configuration));
        services.AddSingleton<RelayState>();
        services.AddSingleton<DeliveryIntegrity>();
        services.AddHostedService<JobEventRelay>();
        services.AddSingleton(EventStreamOptions.From(configuration));
        services.AddSingleton<JobEventHub>();
        services.AddSingleton<StreamSlots>();
        services.AddHttpContextAccessor();
        services.AddHealthChecks().AddCheck<RelayHealthCheck>("relay", tags: ["ready"]);
        return services;
    }
}
