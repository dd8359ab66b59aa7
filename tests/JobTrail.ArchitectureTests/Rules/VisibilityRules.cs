using JobTrail.ArchitectureTests.Analysis;
using Carter;
using MediatR;
using Microsoft.EntityFrameworkCore;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Rules;

internal static class VisibilityRules
{
    private static readonly string RequestHandler = typeof(IRequestHandler<,>).FullName!;
    private static readonly string DbContextClass = typeof(DbContext).FullName!;
    private static readonly string CarterEndpoint = typeof(ICarterModule).FullName!;

    /// <summary>Handlers and DbContexts are a module's internals: nothing outside it may call or query them.</summary>
    public static IReadOnlyList<string> PublicHandlersAndDbContexts(AssemblyDefinition module) =>
        PublicHandlersAndDbContexts(module.AllTypes());

    public static IReadOnlyList<string> PublicHandlersAndDbContexts(IEnumerable<TypeDefinition> types)
    {
        var violations = new List<string>();
        foreach (var type in types.Where(t => t.IsExternallyVisible()))
        {
            if (type.Implements(RequestHandler))
            {
                violations.Add($"{type.FullName} is a public request handler");
            }

            if (type.DerivesFrom(DbContextClass))
            {
                violations.Add($"{type.FullName} is a public DbContext");
            }
        }

        return [.. violations.Order(StringComparer.Ordinal)];
    }

    /// <summary>An endpoint (a Carter module) is internal and sealed: it is mapped by <c>MapCarter()</c>, never called or extended.</summary>
    public static IReadOnlyList<string> EndpointsThatAreNotInternalSealed(AssemblyDefinition module) =>
        EndpointsThatAreNotInternalSealed(module.AllTypes());

    public static IReadOnlyList<string> EndpointsThatAreNotInternalSealed(IEnumerable<TypeDefinition> types) =>
        [.. types.Where(t => t.IsConcrete() && t.Implements(CarterEndpoint) && (t.IsExternallyVisible() || !t.IsSealed))
            .Select(t => $"{t.FullName} is an endpoint ({nameof(ICarterModule)}) but not internal sealed")
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// A module implementation exposes exactly one type: the public static class <c>&lt;Name&gt;Module</c>
    /// with <c>Add&lt;Name&gt;Module</c>. Endpoints, handlers and the rest are internal (found by scanning).
    /// </summary>
    public static IReadOnlyList<string> PublicTypesBesidesModuleClass(AssemblyDefinition moduleImplementation) =>
        PublicTypesBesidesModuleClass(BuiltAssemblies.ModuleName(moduleImplementation.Name.Name), moduleImplementation.AllTypes());

    public static IReadOnlyList<string> PublicTypesBesidesModuleClass(string moduleName, IEnumerable<TypeDefinition> types)
    {
        var moduleClassName = $"{moduleName}Module";
        var exposed = types.Where(t => t.IsExternallyVisible() && !t.IsCompilerGenerated()).ToList();
        var moduleClasses = exposed.Where(t => t.Name == moduleClassName && t.IsStaticClass() && !t.IsNested).ToList();
        var violations = exposed.Except(moduleClasses)
            .Select(t => $"{t.FullName} is public, but module {moduleName} exposes only its static class {moduleClassName}")
            .ToList();
        if (moduleClasses.Count != 1)
        {
            violations.Add($"module {moduleName} exposes {moduleClasses.Count} public static classes named {moduleClassName} instead of one");
        }

        return [.. violations.Order(StringComparer.Ordinal)];
    }
}
