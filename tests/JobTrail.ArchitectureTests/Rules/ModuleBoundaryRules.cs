using System.Reflection;
using JobTrail.ArchitectureTests.Analysis;
using NetArchTest.Rules;

namespace JobTrail.ArchitectureTests.Rules;

/// <summary>The module boundaries as NetArchTest rules over the built assemblies, loaded by name from the output folder.</summary>
internal static class ModuleBoundaryRules
{
    /// <summary>A module implementation uses another module only through its Contracts: no type of it uses another implementation's namespaces.</summary>
    public static TestResult ModuleUsesOtherModulesOnlyThroughContracts(Assembly assembly, string? ownImplementationName) =>
        Types.InAssembly(assembly)
            .Should()
            .NotHaveDependencyOnAny(ImplementationTypeNamesExcept(ownImplementationName))
            .GetResult();

    /// <summary>A Contracts assembly uses nothing of any module implementation, of BuildingBlocks or of the Host.</summary>
    public static TestResult ContractsUseNoJobTrailImplementation(Assembly assembly)
    {
        var self = assembly.GetName().Name;
        return Types.InAssembly(assembly)
            .Should()
            .NotHaveDependencyOnAny(
            [
                .. ImplementationTypeNamesExcept(self),
                .. self == BuiltAssemblies.BuildingBlocksName ? [] : TypeNamesOf(BuiltAssemblies.BuildingBlocksName),
                .. self == BuiltAssemblies.HostName ? [] : TypeNamesOf(BuiltAssemblies.HostName),
            ])
            .GetResult();
    }

    public static Assembly Load(string assemblyName) => Assembly.Load(new AssemblyName(assemblyName));

    /// <summary>The names of the types that break the rule, or none when it holds.</summary>
    public static IReadOnlyList<string> FailingTypes(TestResult result) =>
        result.IsSuccessful ? [] : [.. (result.FailingTypeNames ?? []).Order(StringComparer.Ordinal)];

    private static string[] ImplementationTypeNamesExcept(string? ownImplementationName) =>
        [.. BuiltAssemblies.ModuleImplementations
            .Select(a => a.Name.Name)
            .Where(name => name != ownImplementationName)
            .SelectMany(TypeNamesOf)
            .Distinct()
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// The full names of the assembly's namespaced top-level types. Not its namespaces: NetArchTest matches a
    /// name as a prefix, so <c>JobTrail.Modules.JobSteps</c> would also match the JobSteps Contracts types.
    /// </summary>
    private static IEnumerable<string> TypeNamesOf(string assemblyName) =>
        BuiltAssemblies.Named(assemblyName).MainModule.Types
            .Where(t => t.Namespace.Length > 0)
            .Select(t => t.FullName);
}
