using JobTrail.BuildingBlocks;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks.Http;

/// <summary>A module's HTTP surface, in the shape of Carter's ICarterModule: it only maps routes.</summary>
public interface IEndpointModule
{
    void MapEndpoints(IEndpointRouteBuilder app);
}

public static class EndpointModuleExtensions
{
    public static IServiceCollection AddEndpointModules(this IServiceCollection services)
    {
        services.Scan(scan => scan.FromAssemblies(services.ModuleAssemblies())
            .AddClasses(c => c.AssignableTo<IEndpointModule>(), publicOnly: false)
            .As<IEndpointModule>()
            .WithSingletonLifetime());
        return services;
    }

    public static IEndpointRouteBuilder MapEndpointModules(this IEndpointRouteBuilder app)
    {
        foreach (var module in app.ServiceProvider.GetServices<IEndpointModule>())
        {
            module.MapEndpoints(app);
        }

        return app;
    }
}
