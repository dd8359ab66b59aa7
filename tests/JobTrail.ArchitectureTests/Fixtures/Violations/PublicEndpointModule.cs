using JobTrail.BuildingBlocks.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.PublicSurface;

// Read as the module "PublicSurface": its module class is fine, its public endpoint module is not.

public static class PublicSurfaceModule
{
    public static IServiceCollection AddPublicSurfaceModule(this IServiceCollection services, IConfiguration configuration) =>
        services.AddSingleton(configuration);
}

public sealed class PublicSurfaceEndpoints : IEndpointModule
{
    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        // A fixture: nothing to map.
    }
}

internal sealed class InternalSurfaceEndpoints : IEndpointModule
{
    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        // A fixture: nothing to map.
    }
}
