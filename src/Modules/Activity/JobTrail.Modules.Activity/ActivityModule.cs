using FluentValidation;
using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.Activity.Capture;
using JobTrail.Modules.Activity.Persistence;
using JobTrail.Modules.Activity.Retention;
using JobTrail.Modules.Activity.Sealing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Modules.Activity;

public static class ActivityModule
{
    public static IServiceCollection AddActivityModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(ActivityDbContext.Schema, typeof(ActivityModule).Assembly, migrationOrder: 50);
        // Validators stay internal sealed; they run only in the ValidationBehavior.
        services.AddValidatorsFromAssembly(typeof(ActivityModule).Assembly, ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddActivityDbContext();
        // Read when first needed, so that hosts (and tests) may supply configuration after registration.
        services.AddSingleton(sp => ActivityOptions.From(sp.GetRequiredService<IConfiguration>()));
        services.AddScoped<ActivityRecorder>();
        services.AddScoped<ActivityChainReader>();
        services.AddScoped<IActivityCapture>(sp => sp.GetRequiredService<ActivityRecorder>());
        // Same places in the pipeline as ADR 0009 describes: refusals just inside logging, successes inside the transaction.
        services.AddPipelineStage(PipelineStage.Refusals, typeof(RefusalCaptureBehavior<,>));
        services.AddPipelineStage(PipelineStage.InTransaction, typeof(ActivityCaptureBehavior<,>));
        services.AddSingleton<ActivityPartitionMaintenance>();
        services.AddHostedService<ActivityPartitionJob>();
        services.AddSingleton<SealerState>();
        services.AddSingleton<ActivityChainSealer>();
        services.AddHostedService<ActivitySealerJob>();
        services.AddHealthChecks().AddCheck<SealerHealthCheck>("activity_sealer", tags: ["ready"]);
        return services;
    }
}
