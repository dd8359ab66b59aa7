using JobTrail.ArchitectureTests.Analysis;
using JobTrail.ArchitectureTests.Fixtures;
using JobTrail.ArchitectureTests.Fixtures.Violations.ContractShapes;
using JobTrail.ArchitectureTests.Rules;

namespace JobTrail.ArchitectureTests;

public sealed class ContractsTests
{
    [Fact]
    public void Contracts_reference_only_the_bcl_and_mediatr()
    {
        Assert.NotEmpty(BuiltAssemblies.ModuleContracts);

        ArchitectureAssert.NoViolations(
            [.. BuiltAssemblies.ModuleContracts.SelectMany(c => ContractsRules.ReferencesOutsideBclAndMediatR(c, Bcl.AssemblyNames))]);
    }

    [Fact]
    public void Contracts_hold_only_public_sealed_records_enums_interfaces_and_sealed_attributes() =>
        ArchitectureAssert.NoViolations(
            [.. BuiltAssemblies.ModuleContracts.SelectMany(ContractsRules.TypesThatAreNotPublicSealedRecords)]);

    [Fact]
    public void Rule_flags_a_contracts_assembly_that_references_building_blocks()
    {
        // Read as if it were Contracts, a module implementation references BuildingBlocks.
        Assert.NotEmpty(BuiltAssemblies.ModuleImplementations);
        var implementation = BuiltAssemblies.ModuleImplementations[0];

        var violations = ContractsRules.ReferencesOutsideBclAndMediatR(implementation, Bcl.AssemblyNames);

        Assert.Contains($"{implementation.Name.Name} references JobTrail.BuildingBlocks, which is neither the BCL nor MediatR", violations);
    }

    [Fact]
    public void Rule_flags_a_contracts_assembly_that_references_ef_core_or_asp_net_but_not_the_bcl_or_mediatr()
    {
        // Read as if it were Contracts, BuildingBlocks references EF Core and ASP.NET Core, and also the BCL and MediatR.
        var buildingBlocks = BuiltAssemblies.BuildingBlocks;
        var references = buildingBlocks.MainModule.AssemblyReferences.Select(r => r.Name).ToList();
        Assert.Contains("MediatR", references);
        Assert.Contains(references, r => r.StartsWith("System.", StringComparison.Ordinal));

        var violations = ContractsRules.ReferencesOutsideBclAndMediatR(buildingBlocks, Bcl.AssemblyNames);

        Assert.Contains("JobTrail.BuildingBlocks references Microsoft.EntityFrameworkCore, which is neither the BCL nor MediatR", violations);
        Assert.Contains(violations, v => v.StartsWith("JobTrail.BuildingBlocks references Microsoft.AspNetCore.", StringComparison.Ordinal));
        Assert.DoesNotContain(violations, v => v.Contains(" references System.", StringComparison.Ordinal) || v.Contains(" references MediatR,", StringComparison.Ordinal));
    }

    [Fact]
    public void Rule_flags_contract_types_that_are_not_public_sealed_records()
    {
        var violations = ContractsRules.TypesThatAreNotPublicSealedRecords(FixtureTypes.InNamespaceOf<ProperContract>());

        ArchitectureAssert.Violations(
            [
                $"{typeof(ContractClass).FullName} is not a public sealed record or public enum: not a record",
                $"{typeof(UnsealedContract).FullName} is not a public sealed record or public enum: not sealed",
                $"{typeof(InternalContract).FullName} is not a public sealed record or public enum: not public",
            ],
            violations);
    }
}
