using JobTrail.ArchitectureTests.Analysis;
using JobTrail.ArchitectureTests.Fixtures.Violations.ModuleIsolation;
using JobTrail.ArchitectureTests.Rules;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests;

public sealed class ModuleIsolationTests
{
    // Written out: a typeof() here would make this test class a user of the module implementations too.
    private const string AccessImplementation = "JobTrail.Modules.Access";
    private const string RunnerJobsImplementation = "JobTrail.Modules.RunnerJobs";

    [Fact]
    public void Module_implementations_do_not_depend_on_other_module_implementations()
    {
        Assert.NotEmpty(BuiltAssemblies.ModuleImplementations);

        ArchitectureAssert.NoViolations(
            [.. BuiltAssemblies.ModuleImplementations.SelectMany(ModuleIsolationRules.ForbiddenDependenciesOfModule)]);
    }

    [Fact]
    public void Building_blocks_do_not_depend_on_any_module() =>
        ArchitectureAssert.NoViolations(ModuleIsolationRules.ForbiddenDependenciesOfBuildingBlocks(BuiltAssemblies.BuildingBlocks));

    [Fact]
    public void Rule_flags_a_module_that_references_other_module_implementations()
    {
        // The Host composes every module: read as if it were a module, it breaks the rule on each of them.
        var composed = ModuleImplementationsReferencedBy(BuiltAssemblies.Host);
        Assert.NotEmpty(composed);

        var violations = ModuleIsolationRules.ForbiddenDependenciesOfModule(BuiltAssemblies.Host);

        Assert.All(composed, module =>
        {
            Assert.Contains($"JobTrail.Host references assembly {module}", violations);
            Assert.Contains(violations, v => v.StartsWith("Program uses ", StringComparison.Ordinal) && v.EndsWith($" from {module}", StringComparison.Ordinal));
        });
        Assert.DoesNotContain(violations, v => v.Contains(BuiltAssemblies.BuildingBlocksName, StringComparison.Ordinal));
        Assert.DoesNotContain(violations, v => v.Contains(".Contracts", StringComparison.Ordinal));
    }

    [Fact]
    public void Rule_flags_each_type_that_uses_another_module_implementation()
    {
        var violations = ModuleIsolationRules.ForbiddenDependenciesOfModule(BuiltAssemblies.Tests);

        ArchitectureAssert.Violations(
            [
                $"JobTrail.ArchitectureTests references assembly {AccessImplementation}",
                $"JobTrail.ArchitectureTests references assembly {RunnerJobsImplementation}",
                $"{typeof(CallsAnotherModuleImplementation).FullName} uses {AccessImplementation}.AccessModule from {AccessImplementation}",
                $"{typeof(NamesAnotherModuleImplementationInAnAttribute).FullName} uses {RunnerJobsImplementation}.RunnerJobsModule from {RunnerJobsImplementation}",
            ],
            violations);
    }

    [Fact]
    public void Rule_flags_building_blocks_that_reference_a_module()
    {
        // Read as if it were BuildingBlocks, the Host references every module it composes.
        var composed = ModuleImplementationsReferencedBy(BuiltAssemblies.Host);
        Assert.NotEmpty(composed);

        var violations = ModuleIsolationRules.ForbiddenDependenciesOfBuildingBlocks(BuiltAssemblies.Host);

        Assert.All(composed, module => Assert.Contains($"JobTrail.Host references assembly {module}", violations));
    }

    [Fact]
    public void Rule_flags_each_building_blocks_type_that_uses_a_module()
    {
        // The fixtures declare activity and scopes as every module's requests do, through Activity.Contracts and
        // Access.Contracts; only the planted uses count here.
        var violations = ModuleIsolationRules.ForbiddenDependenciesOfBuildingBlocks(BuiltAssemblies.Tests)
            .Where(v => !v.Contains("JobTrail.Modules.Activity.Contracts", StringComparison.Ordinal)
                && !v.Contains("JobTrail.Modules.Access.Contracts", StringComparison.Ordinal))
            .ToList();

        ArchitectureAssert.Violations(
            [
                $"JobTrail.ArchitectureTests references assembly {AccessImplementation}",
                $"JobTrail.ArchitectureTests references assembly {RunnerJobsImplementation}",
                $"{typeof(CallsAnotherModuleImplementation).FullName} uses {AccessImplementation}.AccessModule from {AccessImplementation}",
                $"{typeof(NamesAnotherModuleImplementationInAnAttribute).FullName} uses {RunnerJobsImplementation}.RunnerJobsModule from {RunnerJobsImplementation}",
            ],
            violations);
    }

    private static List<string> ModuleImplementationsReferencedBy(AssemblyDefinition assembly) =>
        [.. assembly.MainModule.AssemblyReferences.Select(r => r.Name).Where(BuiltAssemblies.IsModuleImplementation)];
}
