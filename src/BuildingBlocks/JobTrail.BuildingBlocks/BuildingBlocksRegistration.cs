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
        services.AddSingleton(sp => DatabaseAvailability.From(
            sp.GetRequiredService<IConfiguration>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<DatabaseAvailability>>()));
        services.AddScoped<RequestContext>();
        services.AddSingleton<SqlMigrator>();
        services.AddOptions<StreamCapOptions>()
            .BindConfiguration(StreamCapOptions.Section)
            .Validate(o => o.MaxStreamsPerWorkspace >= 1, "JobTrail__Events__Stream__MaxStreamsPerWorkspace must be at least 1.")
            .Validate(o => o.MaxShareOfWorkspacePerKey is > 0 and <= 1, "JobTrail__Events__Stream__MaxShareOfWorkspacePerKey must be above 0 and at most 1.")
            .ValidateOnStart();
        // One set of counters for every kind of live stream, so the caps hold across them.
        services.AddSingleton(sp => new StreamSlots(sp.GetRequiredService<IOptions<StreamCapOptions>>().Value));
        services.AddSingleton<IValkeyClient>(sp => new ValkeyClient(
            sp.GetRequiredService<IOptions<ValkeyOptions>>().Value.Valkey!,
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<ValkeyClient>>()));
        services.TryAddSingleton(TimeProvider.System);
        // Only Development and Testing may run on a throw-away key; anywhere else a missing key stops start-up.
        services.AddSingleton(sp =>
        {
            var environment = sp.GetRequiredService<IHostEnvironment>();
            return IntegrityKeyRing.From(sp.GetRequiredService<IConfiguration>(), environment.IsDevelopment() || environment.IsEnvironment("Testing"));
        });
        services.AddModuleMigrations("jobtrail", typeof(BuildingBlocksRegistration).Assembly, order: 0);
        return services;
    }

    /// <summary>Registers a module's embedded SQL migrations; lower <paramref name="order"/> runs first.</summary>
    public static IServiceCollection AddModuleMigrations(this IServiceCollection services, string module, System.Reflection.Assembly assembly, int order)
    {
        services.AddSingleton(new ModuleMigrations(module, assembly, order));
        return services;
    }
}
