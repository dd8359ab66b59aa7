using System.Reflection;
using JobTrail.BuildingBlocks.Persistence;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks;

/// <summary>A module's implementation assembly: scanned for handlers, validators and endpoint modules.</summary>
public sealed record ModuleAssembly(string Name, Assembly Assembly);

public static class ModuleRegistration
{
    /// <summary>Declares a module: its assembly is scanned and its SQL migrations run in <paramref name="migrationOrder"/>.</summary>
    public static IServiceCollection AddModule(this IServiceCollection services, string schema, Assembly assembly, int migrationOrder)
    {
        services.AddSingleton(new ModuleAssembly(schema, assembly));
        services.AddModuleMigrations(schema, assembly, migrationOrder);
        return services;
    }

    public static IReadOnlyList<Assembly> ModuleAssemblies(this IServiceCollection services) =>
        services.Where(d => d.ServiceType == typeof(ModuleAssembly) && d.ImplementationInstance is ModuleAssembly)
            .Select(d => ((ModuleAssembly)d.ImplementationInstance!).Assembly)
            .Distinct()
            .ToList();
}
