using JobTrail.ArchitectureTests.Analysis;
using JobTrail.ArchitectureTests.Fixtures.Violations.ModuleIsolation;
using JobTrail.ArchitectureTests.Rules;

namespace JobTrail.ArchitectureTests;

/// <summary>
/// The module boundaries stated with NetArchTest, each shown to fail on the fixture the Mono.Cecil rule fails on.
/// NetArchTest 1.3.2 cannot state, so the Mono.Cecil rules in ModuleIsolationTests and ContractsTests stay for:
/// a <c>typeof</c> argument of an attribute (NamesAnotherModuleImplementationInAnAttribute goes unseen, see below),
/// assembly attributes and assembly references, and an allow-list by assembly (Contracts reference only the BCL
/// and MediatR: a namespace such as <c>System.IO.Hashing</c> does not say whether it is the BCL or a package).
/// </summary>
public sealed class ModuleBoundaryTests
{
    private const string AccessImplementation = "JobTrail.Modules.Access";

    public static TheoryData<string> ModuleImplementations() => [.. BuiltAssemblies.ModuleImplementations.Select(a => a.Name.Name)];

    public static TheoryData<string> ModuleContracts() => [.. BuiltAssemblies.ModuleContracts.Select(a => a.Name.Name)];

    [Theory]
    [MemberData(nameof(ModuleImplementations))]
    public void Module_uses_other_modules_only_through_their_contracts(string implementation) =>
        ArchitectureAssert.NoViolations(ModuleBoundaryRules.FailingTypes(
            ModuleBoundaryRules.ModuleUsesOtherModulesOnlyThroughContracts(ModuleBoundaryRules.Load(implementation), implementation)));

    [Theory]
    [MemberData(nameof(ModuleContracts))]
    public void Contracts_use_no_module_implementation_nor_building_blocks(string contracts) =>
        ArchitectureAssert.NoViolations(ModuleBoundaryRules.FailingTypes(
            ModuleBoundaryRules.ContractsUseNoJobTrailImplementation(ModuleBoundaryRules.Load(contracts))));

    [Fact]
    public void Module_rule_flags_a_type_that_calls_another_module_implementation()
    {
        // Read as if this test assembly were a module: the IL use is seen, the attribute's typeof argument is not.
        var result = ModuleBoundaryRules.ModuleUsesOtherModulesOnlyThroughContracts(typeof(ModuleBoundaryTests).Assembly, ownImplementationName: null);

        ArchitectureAssert.Violations([typeof(CallsAnotherModuleImplementation).FullName!], ModuleBoundaryRules.FailingTypes(result));
    }

    [Fact]
    public void Module_rule_flags_the_host_where_the_cecil_rule_does()
    {
        // Read as if it were a module, the Host composes every module; it fails as the Mono.Cecil rule does, on Program.
        var cecil = ModuleIsolationRules.ForbiddenDependenciesOfModule(BuiltAssemblies.Host);
        Assert.Contains(cecil, v => v.StartsWith("Program uses ", StringComparison.Ordinal));

        var result = ModuleBoundaryRules.ModuleUsesOtherModulesOnlyThroughContracts(ModuleBoundaryRules.Load(BuiltAssemblies.HostName), ownImplementationName: null);

        Assert.Contains("Program", ModuleBoundaryRules.FailingTypes(result));
    }

    [Fact]
    public void Contracts_rule_flags_the_types_that_use_building_blocks_where_the_cecil_rule_does()
    {
        // Read as if it were Contracts, a module implementation uses BuildingBlocks: both rules name the same types.
        var implementation = BuiltAssemblies.Named(AccessImplementation);
        var cecil = implementation.AllTypes()
            .Where(t => TypeDependencies.Of(t).Any(used => TypeDependencies.AssemblyOf(used) == BuiltAssemblies.BuildingBlocksName))
            .Select(t => Outermost(t.FullName))
            .ToHashSet(StringComparer.Ordinal);
        Assert.NotEmpty(cecil);

        var result = ModuleBoundaryRules.ContractsUseNoJobTrailImplementation(ModuleBoundaryRules.Load(AccessImplementation));

        ArchitectureAssert.Violations(cecil, [.. ModuleBoundaryRules.FailingTypes(result).Select(Outermost).Distinct()]);
    }

    /// <summary>A nested type's violations are its outermost type's (<c>A/&lt;&gt;c</c> and <c>A+B</c> are <c>A</c>).</summary>
    private static string Outermost(string typeName) => typeName.Split('/', '+')[0];
}
