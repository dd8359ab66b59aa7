using JobTrail.ArchitectureTests.Analysis;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Rules;

internal static class ModuleIsolationRules
{
    private const string ModulesPrefix = "JobTrail.Modules.";

    /// <summary>
    /// A module implementation may use BuildingBlocks and any module's Contracts, besides framework and
    /// packages; no other JobTrail assembly (another module's implementation, the Host), whether by
    /// assembly reference or by any type its metadata or IL uses.
    /// </summary>
    public static IReadOnlyList<string> ForbiddenDependenciesOfModule(AssemblyDefinition moduleImplementation) =>
        Dependencies(moduleImplementation, name =>
            name.StartsWith("JobTrail.", StringComparison.Ordinal)
            && name != BuiltAssemblies.BuildingBlocksName
            && !BuiltAssemblies.IsModuleContracts(name));

    /// <summary>BuildingBlocks serves the modules and so knows none of them, implementation or Contracts.</summary>
    public static IReadOnlyList<string> ForbiddenDependenciesOfBuildingBlocks(AssemblyDefinition buildingBlocks) =>
        Dependencies(buildingBlocks, name => name.StartsWith(ModulesPrefix, StringComparison.Ordinal));

    /// <summary>
    /// The assembly references, and the uses by each type, of assemblies that <paramref name="isForbidden"/>
    /// names. The references alone would say that something is wrong; the uses say where (a closure's or
    /// state machine's uses are its enclosing type's).
    /// </summary>
    private static IReadOnlyList<string> Dependencies(AssemblyDefinition assembly, Func<string, bool> isForbidden)
    {
        var self = assembly.Name.Name;
        var references = assembly.Modules
            .SelectMany(m => m.AssemblyReferences)
            .Where(r => isForbidden(r.Name))
            .Select(r => $"{self} references assembly {r.Name}");
        var typeUses = assembly.AllTypes()
            .SelectMany(t => TypeDependencies.Of(t).Select(used => (User: t.WrittenIn().FullName, Used: used)));
        var attributeUses = TypeDependencies.OfAssemblyAttributes(assembly)
            .Select(used => (User: $"{self} (assembly attributes)", Used: used));
        var uses = typeUses.Concat(attributeUses)
            .Select(use => (use.User, use.Used, From: TypeDependencies.AssemblyOf(use.Used)))
            .Where(use => use.From != self && isForbidden(use.From))
            .Select(use => $"{use.User} uses {use.Used.FullName} from {use.From}");
        return [.. references.Concat(uses).Distinct().Order(StringComparer.Ordinal)];
    }
}
