using System.Reflection;
using FluentValidation;
using JobTrail.BuildingBlocks.Persistence;
using Mapster;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks;

/// <summary>A module's implementation assembly: scanned for handlers, validators and endpoint modules.</summary>
public sealed record ModuleAssembly(string Name, Assembly Assembly);

public static class ModuleRegistration
{
    /// <summary>
    /// Declares a module: its assembly is scanned and its SQL migrations run in <paramref name="migrationOrder"/>.
    /// Its response <paramref name="mapping"/> (see <see cref="Mapping.ModuleMapping"/>) is compiled here, at start-up.
    /// </summary>
    public static IServiceCollection AddModule(this IServiceCollection services, string schema, Assembly assembly, int migrationOrder,
        TypeAdapterConfig? mapping = null)
    {
        mapping?.Compile();
        services.AddSingleton(new ModuleAssembly(schema, assembly));
        services.AddModuleMigrations(schema, assembly, migrationOrder);
        return services;
    }

    /// <summary>
    /// Declares a module that keeps its data in <typeparamref name="TDbContext"/>: as
    /// <see cref="AddModule(IServiceCollection, string, Assembly, int, TypeAdapterConfig?)"/>, plus its validators
    /// (internal sealed; they run only in the ValidationBehavior) and its DbContext.
    /// </summary>
    public static IServiceCollection AddModule<TDbContext>(this IServiceCollection services, string schema, int migrationOrder,
        TypeAdapterConfig? mapping = null)
        where TDbContext : DbContext
    {
        var assembly = typeof(TDbContext).Assembly;
        services.AddModule(schema, assembly, migrationOrder, mapping);
        services.AddValidatorsFromAssembly(assembly, ServiceLifetime.Singleton, includeInternalTypes: true);
        return services.AddModuleDbContext<TDbContext>();
    }

    public static IReadOnlyList<Assembly> ModuleAssemblies(this IServiceCollection services) =>
        services.Where(d => d.ServiceType == typeof(ModuleAssembly) && d.ImplementationInstance is ModuleAssembly)
            .Select(d => ((ModuleAssembly)d.ImplementationInstance!).Assembly)
            .Distinct()
            .ToList();
}
