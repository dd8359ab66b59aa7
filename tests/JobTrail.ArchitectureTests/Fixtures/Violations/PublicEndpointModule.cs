using Carter;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.PublicSurface;

// Read as the module "PublicSurface": its module class is fine; a public endpoint and an unsealed one are not.

public static class PublicSurfaceModule
{
    public static IServiceCollection AddPublicSurfaceModule(this IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton(configuration);
}

public sealed class PublicSurfaceEndpoints : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        // A fixture: nothing to map.
    }
}

internal sealed class InternalSurfaceEndpoints : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        // A fixture: nothing to map.
    }
}

internal class UnsealedSurfaceEndpoints : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        // A fixture: nothing to map.
    }
}
