using JobTrail.ArchitectureTests.Analysis;
using JobTrail.ArchitectureTests.Fixtures;
using JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Alpha;
using JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Alpha.Hearing;
using JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Gamma;
using JobTrail.ArchitectureTests.Rules;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests;

public sealed class RuntimeCycleTests
{
    private const string FixtureRoot = "JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.";

    [Fact]
    public void Modules_send_requests_and_hear_notifications_in_no_cycle()
    {
        var edges = BuiltAssemblies.ModuleImplementations
            .SelectMany(a => RuntimeCycleRules.MessageEdges(BuiltAssemblies.ModuleName(a.Name.Name), a.AllTypes(), ContractsModuleOf))
            .ToList();
        // The graph is not empty: the event log checks steps (a request) and hears job changes (a notification).
        Assert.Contains(("JobEvents", "JobSteps"), edges);
        Assert.Contains(("JobEvents", "RunnerJobs"), edges);

        ArchitectureAssert.NoViolations(RuntimeCycleRules.Cycles(edges));
    }

    [Fact]
    public void Rule_names_the_cycle_of_two_modules_that_ask_each_other()
    {
        var types = FixtureTypes.InNamespaceOf<AlphaAsksBeta>()
            .Concat(FixtureTypes.InNamespaceOf<Fixtures.Violations.RuntimeCycle.Beta.BetaAsksAlpha>());
        var edges = types
            .GroupBy(t => FixtureModuleOf(t)!)
            .SelectMany(g => RuntimeCycleRules.MessageEdges(g.Key, g, FixtureContractsModuleOf))
            .ToList();

        ArchitectureAssert.Violations(["Alpha -> Beta -> Alpha"], RuntimeCycleRules.Cycles(edges));
    }

    [Fact]
    public void Rule_names_the_cycle_closed_by_handling_another_modules_notification()
    {
        var types = FixtureTypes.InNamespaceOf<GammaAsksAlpha>()
            .Concat(FixtureTypes.InNamespaceOf<AlphaHearsGamma>());
        var edges = types
            .GroupBy(t => FixtureModuleOf(t)!)
            .SelectMany(g => RuntimeCycleRules.MessageEdges(g.Key, g, FixtureContractsModuleOf))
            .ToList();

        // Gamma publishing its own notification is no edge; Alpha hearing it is.
        Assert.Equal([("Alpha", "Gamma"), ("Gamma", "Alpha")], edges.Order());
        ArchitectureAssert.Violations(["Alpha -> Gamma -> Alpha"], RuntimeCycleRules.Cycles(edges));
    }

    [Fact]
    public void Rule_finds_longer_cycles_once_and_ignores_a_one_way_graph()
    {
        Assert.Equal(["A -> B -> C -> A"], RuntimeCycleRules.Cycles([("B", "C"), ("C", "A"), ("A", "B"), ("A", "D")]));
        Assert.Empty(RuntimeCycleRules.Cycles([("A", "B"), ("B", "C"), ("A", "C")]));
    }

    /// <summary><c>JobSteps</c> for a type declared in <c>JobTrail.Modules.JobSteps.Contracts</c>.</summary>
    private static string? ContractsModuleOf(TypeReference type)
    {
        var assembly = TypeDependencies.AssemblyOf(type);
        return BuiltAssemblies.IsModuleContracts(assembly)
            ? BuiltAssemblies.ModuleName(assembly[..^".Contracts".Length])
            : null;
    }

    /// <summary>The fixture's modules are namespaces: <c>…RuntimeCycle.Alpha</c> and its <c>.Contracts</c>.</summary>
    private static string? FixtureModuleOf(TypeReference type) =>
        type.Namespace.StartsWith(FixtureRoot, StringComparison.Ordinal) ? type.Namespace[FixtureRoot.Length..].Split('.')[0] : null;

    private static string? FixtureContractsModuleOf(TypeReference type) =>
        type.Namespace.EndsWith(".Contracts", StringComparison.Ordinal) ? FixtureModuleOf(type) : null;
}
