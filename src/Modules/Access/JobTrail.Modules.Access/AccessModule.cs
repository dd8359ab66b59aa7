using JobTrail.Modules.Access.Authentication;
using JobTrail.Modules.Access.Contracts;
using JobTrail.Modules.Access.Persistence;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace JobTrail.Modules.Access;

public static class AccessModule
{
    public static IServiceCollection AddAccessModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule<AccessDbContext>(AccessDbContext.Schema, migrationOrder: 10, AccessMapping.Config);
        BootstrapOptions.Register(services);
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
        services.AddOptions<UiSessionOptions>()
            .BindConfiguration(UiSessionOptions.Section)
            .Validate(o => o.Lifetime >= TimeSpan.FromMinutes(1) && o.Lifetime <= TimeSpan.FromDays(30), "JobTrail__Access__UiSession__Lifetime must be between one minute and 30 days.")
            .ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<UiSessionOptions>>().Value);
        services.AddSingleton<UiSessionStore>();
        // One scheme for the fallback policy; it forwards to the bearer key or the dashboard's session cookie.
        services.AddAuthentication(AccessAuthentication.Scheme)
            .AddPolicyScheme(AccessAuthentication.Scheme, null, o => o.ForwardDefaultSelector = AccessSchemes.Select)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(AccessSchemes.Bearer, null)
            .AddScheme<AuthenticationSchemeOptions, UiSessionAuthenticationHandler>(AccessSchemes.Session, null);
        return services;
    }

    /// <summary>Maps signing in to and out of the dashboard (<c>/api/ui/session</c>).</summary>
    public static IEndpointRouteBuilder MapAccessSessions(this IEndpointRouteBuilder app)
    {
        UiSessionEndpoints.Map(app);
        return app;
    }

    /// <summary>Creates the bootstrap workspace and key if configured; call after migrations.</summary>
    public static Task BootstrapAccessAsync(this IServiceProvider services, CancellationToken cancellationToken = default) =>
        services.GetRequiredService<AccessBootstrap>().EnsureAsync(cancellationToken);
}
