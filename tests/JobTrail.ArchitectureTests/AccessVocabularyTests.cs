using JobTrail.ArchitectureTests.Analysis;

namespace JobTrail.ArchitectureTests;

public sealed class AccessVocabularyTests
{
    [Fact]
    public void Scope_names_and_the_authentication_scheme_live_in_access_contracts_not_in_building_blocks()
    {
        var contracts = BuiltAssemblies.Named("JobTrail.Modules.Access.Contracts").MainModule.Types.Select(t => t.FullName).ToList();

        Assert.Contains("JobTrail.Modules.Access.Contracts.Scopes", contracts);
        Assert.Contains("JobTrail.Modules.Access.Contracts.AccessAuthentication", contracts);
        Assert.DoesNotContain(BuiltAssemblies.BuildingBlocks.MainModule.Types, t => t.Name == "Scopes");
    }

    [Fact]
    public void Building_blocks_knows_no_scope_by_name()
    {
        // The pipeline compares strings through IScopeRule; which scope implies which is Access's to say.
        var literals = BuiltAssemblies.BuildingBlocks.MainModule.Types
            .SelectMany(t => t.Methods)
            .Where(m => m.HasBody)
            .SelectMany(m => m.Body.Instructions)
            .Where(i => i.OpCode == Mono.Cecil.Cil.OpCodes.Ldstr)
            .Select(i => (string)i.Operand);

        Assert.DoesNotContain(literals, l => l is "admin" or "system");
    }
}
