using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.Access.Authentication;
using JobTrail.Modules.Access.Contracts;
using JobTrail.Modules.Access.Persistence;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace JobTrail.Modules.Access;

public static class AccessModule
{
    public static IServiceCollection AddAccessModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule<AccessDbContext>(AccessDbContext.Schema, migrationOrder: 10);
        // A response field without a source stops start-up here instead of failing its first request.
        AccessMapping.Config.Compile();
        services.AddSingleton<AccessBootstrap>();
        services.AddOptions<AccessOptions>()
            .BindConfiguration(AccessOptions.Section)
            .Validate(o => o.KeyCacheMaxAge >= TimeSpan.Zero && o.KeyCacheMaxAge <= AccessOptions.MaxKeyCacheAge,
                "JobTrail__Access__KeyCacheMaxAge must be between 00:00:00 (no cache) and 00:01:00.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AccessOptions>>().Value);
        services.AddSingleton<ApiKeyCache>();
        services.AddSingleton<KeyRevocations>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyRevocations>());
        services.AddSingleton<IScopeRule, AccessScopeRule>();
        services.AddAuthentication(AccessAuthentication.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AccessAuthentication.Scheme, null);
        return services;
    }

    /// <summary>Creates the bootstrap workspace and key if configured; call after migrations.</summary>
    public static Task BootstrapAccessAsync(this IServiceProvider services, CancellationToken cancellationToken = default) =>
        services.GetRequiredService<AccessBootstrap>().EnsureAsync(cancellationToken);
}
