using Carter;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks.Http;

public static class CarterRegistration
{
    /// <summary>
    /// Registers every endpoint (<see cref="ICarterModule"/>) of the registered modules for <c>MapCarter()</c>.
    /// </summary>
    /// <remarks>
    /// Carter's own scan takes only public types, and endpoints stay internal, so they are named to it
    /// explicitly; validators are wired by the mediator pipeline, so Carter registers none.
    /// </remarks>
    public static IServiceCollection AddJobTrailCarter(this IServiceCollection services)
    {
        var assemblies = services.ModuleAssemblies().ToArray();
        var endpoints = assemblies
            .SelectMany(a => a.GetTypes()
                .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(ICarterModule).IsAssignableFrom(t))
                .OrderBy(t => t.FullName, StringComparer.Ordinal))
            .ToArray();
        return services.AddCarter(
            new DependencyContextAssemblyCatalog(assemblies),
            c => c.WithModules(endpoints).WithEmptyValidators().WithEmptyResponseNegotiators());
    }
}
