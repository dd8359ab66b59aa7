using JobTrail.ArchitectureTests.Analysis;
using JobTrail.ArchitectureTests.Fixtures.Compliant;
using JobTrail.ArchitectureTests.Fixtures.Violations.DbContextUse;
using JobTrail.ArchitectureTests.Fixtures.Violations.Neighbour;
using JobTrail.ArchitectureTests.Fixtures.Violations.Slices;
using JobTrail.ArchitectureTests.Rules;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests;

/// <summary>
/// A slice's handler, validator and endpoint are internal and sealed, the endpoint only binds and sends,
/// and no module touches another's DbContext (NetArchTest) or schema (Mono.Cecil: the schema is named in
/// SQL strings and embedded migrations, which NetArchTest does not read). Each rule is shown to fail once.
/// </summary>
public sealed class SliceTests
{
    public static TheoryData<string> ModuleImplementations() => [.. BuiltAssemblies.ModuleImplementations.Select(a => a.Name.Name)];

    [Theory]
    [MemberData(nameof(ModuleImplementations))]
    public void Handlers_validators_and_endpoints_are_internal_and_sealed(string implementation)
    {
        var types = SliceRules.InAssembly(implementation);
        Assert.NotEmpty(SliceRules.Handlers(types).GetTypes());
        Assert.NotEmpty(SliceRules.Endpoints(types).GetTypes());

        ArchitectureAssert.NoViolations(
        [
            .. ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Handlers(types))),
            .. ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Validators(types))),
            .. ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Endpoints(types))),
        ]);
    }

    [Theory]
    [MemberData(nameof(ModuleImplementations))]
    public void Endpoints_only_bind_and_send(string implementation) =>
        ArchitectureAssert.NoViolations(ModuleBoundaryRules.FailingTypes(SliceRules.EndpointsOnlyBindAndSend(SliceRules.InAssembly(implementation))));

    [Theory]
    [MemberData(nameof(ModuleImplementations))]
    public void Module_uses_no_other_modules_db_context(string implementation) =>
        ArchitectureAssert.NoViolations(ModuleBoundaryRules.FailingTypes(
            SliceRules.UsesNoOtherModulesDbContext(SliceRules.InAssembly(implementation), implementation)));

    [Theory]
    [MemberData(nameof(ModuleImplementations))]
    public void Module_names_no_other_modules_schema(string implementation)
    {
        var module = BuiltAssemblies.Named(implementation);
        Assert.NotEmpty(SchemaRules.OwnSchemas(module));

        ArchitectureAssert.NoViolations(SchemaRules.UsesOfForeignSchemas(module, ForeignSchemas(module)));
    }

    [Fact]
    public void Rule_flags_a_public_handler_an_unsealed_one_and_a_public_validator()
    {
        var types = SliceRules.InNamespaceOf<SliceQuery>();

        ArchitectureAssert.Violations(
            [typeof(PublicSliceHandler).FullName!, typeof(UnsealedSliceHandler).FullName!],
            ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Handlers(types))));
        ArchitectureAssert.Violations(
            [typeof(PublicSliceValidator).FullName!],
            ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Validators(types))));
    }

    [Fact]
    public void Rule_flags_endpoints_that_query_or_call_a_handler()
    {
        var failing = ModuleBoundaryRules.FailingTypes(SliceRules.EndpointsOnlyBindAndSend(SliceRules.InNamespaceOf<SliceQuery>()));

        ArchitectureAssert.Violations([typeof(HandlerCallingEndpoint).FullName!, typeof(QueryingEndpoint).FullName!], failing);
    }

    [Fact]
    public void Rule_flags_a_module_that_uses_another_modules_db_context()
    {
        // Read as a module beside "Neighbour": its own DbContext is fine, the neighbour's is not.
        var types = SliceRules.InNamespaceOf<UsesAnotherModulesDbContext>();

        var failing = ModuleBoundaryRules.FailingTypes(SliceRules.UsesNoneOf(types, [typeof(NeighbourDbContext).FullName!]));

        ArchitectureAssert.Violations([typeof(UsesAnotherModulesDbContext).FullName!], failing);
    }

    [Fact]
    public void Rule_flags_sql_that_names_another_modules_schema()
    {
        var types = BuiltAssemblies.Tests.AllTypes().Where(t => t.Namespace == typeof(SliceQuery).Namespace || t.WrittenIn().Namespace == typeof(SliceQuery).Namespace);
        var migration = ("Fixture.Migrations.0001_steal.sql", "create schema fixture;\ncreate view fixture.all_events as select * from job_events.events;");

        var violations = SchemaRules.UsesOfForeignSchemas(types, [migration], ["job_events", "runner_jobs"]);

        ArchitectureAssert.Violations(
            [
                "Fixture.Migrations.0001_steal.sql names schema job_events",
                $"{typeof(ReadsAnotherModulesTable).FullName} names schema runner_jobs",
            ],
            violations);
    }

    [Fact]
    public void Slice_rules_accept_a_slice_that_follows_every_convention()
    {
        var types = SliceRules.InNamespaceOf<CreateFixtureCommand>();

        ArchitectureAssert.NoViolations(
        [
            .. ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Handlers(types))),
            .. ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Validators(types))),
            .. ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Endpoints(types))),
            .. ModuleBoundaryRules.FailingTypes(SliceRules.EndpointsOnlyBindAndSend(types)),
        ]);
    }

    /// <summary>The schemas every other module creates.</summary>
    private static HashSet<string> ForeignSchemas(AssemblyDefinition module) =>
        BuiltAssemblies.ModuleImplementations.Where(other => other != module).SelectMany(SchemaRules.OwnSchemas).ToHashSet(StringComparer.Ordinal);
}
