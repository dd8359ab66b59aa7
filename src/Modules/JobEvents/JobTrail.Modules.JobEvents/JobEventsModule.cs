using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Features.VerifyEventChain;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobEvents.Relay;
using JobTrail.Modules.JobEvents.Retention;
using JobTrail.Modules.JobEvents.Delivery;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using JobTrail.Modules.JobEvents.Features.EmitEvent;

namespace JobTrail.Modules.JobEvents;

public static class JobEventsModule
{
    public static IServiceCollection AddJobEventsModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(EventLog.Schema, typeof(JobEventsModule).Assembly, migrationOrder: 40, JobEventsMapping.Config);
        // Validators stay internal sealed; they run only in the ValidationBehavior.
        services.AddValidatorsFromAssembly(typeof(JobEventsModule).Assembly, ServiceLifetime.Singleton, includeInternalTypes: true);
        services.AddScoped<EventLog>();
        services.AddScoped<EventChainReader>();
        services.AddScoped<ClientEventWriter>();
        services.AddOptions<GroupCommitOptions>()
            .BindConfiguration(GroupCommitOptions.Section)
            .Validate(o => o.MaxRequests >= 1, "JobTrail__Events__GroupCommit__MaxRequests must be at least 1.")
            .Validate(o => o.Writers is >= 1 and <= 64, "JobTrail__Events__GroupCommit__Writers must be between 1 and 64.")
            .Validate(o => o.HelperFromEvents >= 0, "JobTrail__Events__GroupCommit__HelperFromEvents must be 0 (no helper) or more.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<GroupCommitOptions>>().Value);
        services.AddSingleton<RelayWakeup>();
        services.AddSingleton<CommittedEvents>();
        services.AddSingleton<StreamHeads>();
        services.AddSingleton<GroupCommitWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<GroupCommitWriter>());
        services.AddOptions<EventRetentionOptions>()
            .BindConfiguration(EventRetentionOptions.Section)
            .Validate(o => o.RetentionDays is null or >= 1, "JobTrail__Events__RetentionDays must be at least 1 (leave it unset to keep events for ever).")
            .Validate(o => o.PartitionsAhead is >= 1 and <= 24, "JobTrail__Events__PartitionsAhead must be between 1 and 24.")
            .Validate(o => o.PartitionMaintenanceInterval >= TimeSpan.FromSeconds(1), "JobTrail__Events__PartitionMaintenanceInterval must be at least one second.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<EventRetentionOptions>>().Value);
        services.AddSingleton<EventPartitionMaintenance>();
        services.AddHostedService<PartitionMaintenanceJob<EventPartitionMaintenance>>();
        services.AddOptions<RelayOptions>()
            .BindConfiguration(RelayOptions.Section)
            .Validate(o => o.BatchSize >= 1, "JobTrail__Relay__BatchSize must be at least 1.")
            .Validate(o => o.StreamMaxLength >= 1, "JobTrail__Relay__StreamMaxLength must be at least 1.")
            .Validate(o => o.PollInterval > TimeSpan.Zero, "JobTrail__Relay__PollInterval must be positive.")
            .Validate(o => o.StandbyPollInterval > TimeSpan.Zero, "JobTrail__Relay__StandbyPollInterval must be positive.")
            .Validate(o => o.MinBackoff > TimeSpan.Zero, "JobTrail__Relay__MinBackoff must be positive.")
            .Validate(o => o.MaxBackoff >= o.MinBackoff, "JobTrail__Relay__MaxBackoff must be at least JobTrail__Relay__MinBackoff.")
            .Validate(o => o.TerminalStreamTtl > TimeSpan.Zero, "JobTrail__Relay__TerminalStreamTtl must be positive.")
            .Validate(o => o.MaxAttempts >= 1, "JobTrail__Relay__MaxAttempts must be at least 1.")
            .Validate(o => o.Partitions is >= 1 and <= 4096, "JobTrail__Relay__Partitions must be between 1 and 4096.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<RelayOptions>>().Value);
        services.AddSingleton<RelayState>();
        services.AddSingleton<DeliveryIntegrity>();
        services.AddHostedService<JobEventRelay>();
        services.AddOptions<EventStreamOptions>()
            .BindConfiguration(EventStreamOptions.Section)
            .Validate(o => o.Heartbeat > TimeSpan.Zero, "JobTrail__Events__Stream__Heartbeat must be positive.")
            .Validate(o => o.Retry >= TimeSpan.Zero, "JobTrail__Events__Stream__Retry must not be negative.")
            .Validate(o => o.CatchUpInterval > TimeSpan.Zero, "JobTrail__Events__Stream__CatchUpInterval must be positive.")
            .Validate(o => o.OfflinePollInterval > TimeSpan.Zero, "JobTrail__Events__Stream__OfflinePollInterval must be positive.")
            .Validate(o => o.ClientBuffer >= 1, "JobTrail__Events__Stream__ClientBuffer must be at least 1.")
            // MaxStreamsPerWorkspace and MaxShareOfWorkspacePerKey are validated with the shared caps (BuildingBlocks/Streaming).
            .Validate(o => o.PageSize >= 1, "JobTrail__Events__Stream__PageSize must be at least 1.")
            .Validate(o => o.MaxDuration > TimeSpan.Zero, "JobTrail__Events__Stream__MaxDuration must be positive.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<EventStreamOptions>>().Value);
        services.AddSingleton<JobEventHub>();
        services.AddHostedService<StreamCheckJob>();
        services.AddHttpContextAccessor();
        services.AddHealthChecks().AddCheck<RelayHealthCheck>("relay", tags: ["ready"]);
        return services;
    }
}
