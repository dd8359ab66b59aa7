using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.BuildingBlocks.Streaming;
using JobTrail.BuildingBlocks.Valkey;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace JobTrail.BuildingBlocks;

public static class BuildingBlocksRegistration
{
    public static IServiceCollection AddBuildingBlocks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<DatabaseOptions>()
            .BindConfiguration(DatabaseOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<DatabaseOptions>>().Value);
        services.AddOptions<ValkeyOptions>()
            .BindConfiguration(ValkeyOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp => new NpgsqlDataSourceBuilder(sp.GetRequiredService<DatabaseOptions>().ServiceConnectionString).Build());
        services.AddSingleton<ReadReplica>();
        services.AddScoped<DbSession>();
        services.AddScoped<JoinedWrites>();
        services.AddOptions<DatabaseAvailabilityOptions>()
            .BindConfiguration(DatabaseAvailabilityOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp => new DatabaseAvailability(
            TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<DatabaseAvailabilityOptions>>().Value.RetryAfterSeconds),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<DatabaseAvailability>>()));
        services.AddScoped<RequestContext>();
        services.AddSingleton<SqlMigrator>();
        services.AddOptions<StreamCapOptions>()
            .BindConfiguration(StreamCapOptions.Section)
            .Validate(o => o.MaxStreamsPerWorkspace >= 1, "JobTrail__Events__Stream__MaxStreamsPerWorkspace must be at least 1.")
            .Validate(o => o.MaxShareOfWorkspacePerKey is > 0 and <= 1, "JobTrail__Events__Stream__MaxShareOfWorkspacePerKey must be above 0 and at most 1.")
            .Validate(o => o.LeaseTtl >= TimeSpan.FromSeconds(1), "JobTrail__Events__Stream__LeaseTtl must be at least one second.")
            .ValidateOnStart();
        // One set of counters for every kind of live stream, so the caps hold across them (and, through Valkey, across instances).
        services.AddSingleton(sp => new StreamSlots(
            sp.GetRequiredService<IOptions<StreamCapOptions>>().Value,
            sp.GetRequiredService<IValkeyClient>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<StreamSlots>>()));
        services.AddSingleton<IValkeyClient>(sp => new ValkeyClient(
            sp.GetRequiredService<IOptions<ValkeyOptions>>().Value.Valkey!,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ValkeyClient>>()));
        services.TryAddSingleton(TimeProvider.System);
        // Only Development and Testing may run on a throw-away key; anywhere else a missing key stops start-up.
        // Building the ring is the check: a missing or malformed setting throws, naming it.
        services.AddOptions<IntegrityOptions>()
            .BindConfiguration(IntegrityOptions.Section)
            .Validate<IHostEnvironment>((o, environment) => IntegrityKeyRing.From(o, AllowsThrowAwayKey(environment)) is not null)
            .ValidateOnStart();
        services.AddSingleton(sp => IntegrityKeyRing.From(
            sp.GetRequiredService<IOptions<IntegrityOptions>>().Value, AllowsThrowAwayKey(sp.GetRequiredService<IHostEnvironment>())));
        services.AddModuleMigrations("jobtrail", typeof(BuildingBlocksRegistration).Assembly, order: 0);
        return services;
    }

    private static bool AllowsThrowAwayKey(IHostEnvironment environment) =>
        environment.IsDevelopment() || environment.IsEnvironment("Testing");

    /// <summary>Registers a module's embedded SQL migrations; lower <paramref name="order"/> runs first.</summary>
    public static IServiceCollection AddModuleMigrations(this IServiceCollection services, string module, System.Reflection.Assembly assembly, int order)
    {
        services.AddSingleton(new ModuleMigrations(module, assembly, order));
        return services;
    }
}
