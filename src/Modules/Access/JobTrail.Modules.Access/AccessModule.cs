using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.Access.Authentication;
using JobTrail.Modules.Access.Contracts;
using JobTrail.Modules.Access.Persistence;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Modules.Access;

public static class AccessModule
{
    public static IServiceCollection AddAccessModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule<AccessDbContext>(AccessDbContext.Schema, migrationOrder: 10, AccessMapping.Config);
        BootstrapOptions.Register(services);
        services.AddSingleton<AccessBootstrap>();
        services.AddSingleton<IScopeRule, AccessScopeRule>();
        services.AddAuthentication(AccessAuthentication.Scheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AccessAuthentication.Scheme, null);
        return services;
    }

    /// <summary>Creates the bootstrap workspace and key if configured; call after migrations.</summary>
    public static Task BootstrapAccessAsync(this IServiceProvider services, CancellationToken cancellationToken = default) =>
        services.GetRequiredService<AccessBootstrap>().EnsureAsync(cancellationToken);
}
