using JobTrail.ArchitectureTests.Fixtures;
using JobTrail.ArchitectureTests.Fixtures.Compliant;
using JobTrail.ArchitectureTests.Fixtures.Compliant.Contracts;
using JobTrail.ArchitectureTests.Rules;
using JobTrail.BuildingBlocks.Mediator;

namespace JobTrail.ArchitectureTests;

/// <summary>The rules flag what breaks them and nothing else: a slice that follows every convention passes all of them.</summary>
public sealed class CompliantFixtureTests
{
    [Fact]
    public void Rules_accept_a_module_that_follows_every_convention()
    {
        var types = FixtureTypes.InNamespaceOf<CreateFixtureCommand>();
        Assert.Equal(2, RequestConventionRules.Commands(types).Count);

        ArchitectureAssert.NoViolations(
            [
                .. VisibilityRules.PublicTypesBesidesModuleClass("Compliant", types),
                .. RequestConventionRules.CommandsWithoutValidator(types),
                .. RequestConventionRules.RequestsWithoutKnownScope(types, Scopes.All),
                .. RequestConventionRules.CommandsWithoutAuditDeclaration(types),
            ]);
    }

    [Fact]
    public void Rules_accept_contracts_that_follow_every_convention() =>
        ArchitectureAssert.NoViolations(ContractsRules.TypesThatAreNotPublicSealedRecords(FixtureTypes.InNamespaceOf<FixtureSnapshot>()));
}
