using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.Activity.Capture;
using JobTrail.Modules.Activity.Features.StreamActivity;
using JobTrail.Modules.Activity.Features.VerifyActivityChain;
using JobTrail.Modules.Activity.Persistence;
using JobTrail.Modules.Activity.Retention;
using JobTrail.Modules.Activity.Sealing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace JobTrail.Modules.Activity;

public static class ActivityModule
{
    public static IServiceCollection AddActivityModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(ActivityDbContext.Schema, typeof(ActivityModule).Assembly, migrationOrder: 50, ActivityMapping.Config);
        // Validators stay internal sealed; they run only in the ValidationBehavior.
        services.AddValidatorsFromAssembly(typeof(ActivityModule).Assembly, ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddActivityDbContext();
        services.AddOptions<ActivityOptions>()
            .BindConfiguration(ActivityOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.PartitionMaintenanceInterval >= TimeSpan.FromSeconds(1), "JobTrail__Activity__PartitionMaintenanceInterval must be at least one second.")
            .Validate(o => o.SealInterval >= TimeSpan.FromMilliseconds(10) && o.SealInterval <= TimeSpan.FromMinutes(1), "JobTrail__Activity__SealInterval must be between 10 ms and one minute.")
            .Validate(o => o.SealLagWarning > TimeSpan.Zero, "JobTrail__Activity__SealLagWarning must be positive.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ActivityOptions>>().Value);
        services.AddOptions<ActivityStreamOptions>()
            .BindConfiguration(ActivityStreamOptions.Section)
            .Validate(o => o.PollInterval >= TimeSpan.FromMilliseconds(10), "JobTrail__Activity__Stream__PollInterval must be at least 10 ms.")
            .Validate(o => o.Heartbeat > TimeSpan.Zero, "JobTrail__Activity__Stream__Heartbeat must be positive.")
            .Validate(o => o.Retry >= TimeSpan.Zero, "JobTrail__Activity__Stream__Retry must not be negative.")
            .Validate(o => o.PageSize is >= 1 and <= 10_000, "JobTrail__Activity__Stream__PageSize must be between 1 and 10000.")
            .Validate(o => o.MaxDuration > TimeSpan.Zero, "JobTrail__Activity__Stream__MaxDuration must be positive.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<ActivityStreamOptions>>().Value);
        services.AddScoped<ActivityRecorder>();
        services.AddScoped<ActivityChainReader>();
        services.AddScoped<IActivityCapture>(sp => sp.GetRequiredService<ActivityRecorder>());
        // Same places in the pipeline as ADR 0009 describes: refusals just inside logging, successes inside the transaction.
        services.AddPipelineStage(PipelineStage.Refusals, typeof(RefusalCaptureBehavior<,>));
        services.AddPipelineStage(PipelineStage.InTransaction, typeof(ActivityCaptureBehavior<,>));
        services.AddSingleton<ActivityPartitionMaintenance>();
        services.AddHostedService<PartitionMaintenanceJob<ActivityPartitionMaintenance>>();
        services.AddSingleton<SealerState>();
        services.AddSingleton<ActivityChainSealer>();
        services.AddHostedService<ActivitySealerJob>();
        services.AddHealthChecks().AddCheck<SealerHealthCheck>("activity_sealer", tags: ["ready"]);
        return services;
    }
}
