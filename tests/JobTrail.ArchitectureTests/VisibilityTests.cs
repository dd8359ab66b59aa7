using JobTrail.ArchitectureTests.Analysis;
using JobTrail.ArchitectureTests.Fixtures;
using JobTrail.ArchitectureTests.Fixtures.Violations.PublicInfrastructure;
using JobTrail.ArchitectureTests.Fixtures.Violations.PublicSurface;
using JobTrail.ArchitectureTests.Rules;

namespace JobTrail.ArchitectureTests;

public sealed class VisibilityTests
{
    [Fact]
    public void Handlers_and_db_contexts_are_not_public()
    {
        Assert.NotEmpty(BuiltAssemblies.AllModuleAssemblies);

        ArchitectureAssert.NoViolations(
        [
            .. BuiltAssemblies.AllModuleAssemblies.Select(a => SliceRules.InAssembly(a.Name.Name)).SelectMany(types =>
                ModuleBoundaryRules.FailingTypes(SliceRules.NotPublic(SliceRules.Handlers(types)))
                    .Concat(ModuleBoundaryRules.FailingTypes(SliceRules.NotPublic(SliceRules.DbContexts(types))))),
        ]);
    }

    [Fact]
    public void Module_implementations_expose_only_their_module_class()
    {
        Assert.NotEmpty(BuiltAssemblies.ModuleImplementations);

        ArchitectureAssert.NoViolations(
            [.. BuiltAssemblies.ModuleImplementations.SelectMany(VisibilityRules.PublicTypesBesidesModuleClass)]);
    }

    [Fact]
    public void Rule_flags_a_public_endpoint_and_an_unsealed_one()
    {
        var failing = ModuleBoundaryRules.FailingTypes(SliceRules.InternalAndSealed(SliceRules.Endpoints(SliceRules.InNamespaceOf<PublicSurfaceEndpoints>())));

        ArchitectureAssert.Violations([typeof(PublicSurfaceEndpoints).FullName!, typeof(UnsealedSurfaceEndpoints).FullName!], failing);
    }

    [Fact]
    public void Rule_flags_a_public_handler_and_a_public_db_context()
    {
        var types = SliceRules.InNamespaceOf<PublicPingHandler>();

        ArchitectureAssert.Violations(
            [typeof(PublicPingHandler).FullName!, typeof(PublicNotifyHandler).FullName!],
            ModuleBoundaryRules.FailingTypes(SliceRules.NotPublic(SliceRules.Handlers(types))));
        ArchitectureAssert.Violations([typeof(PublicDbContext).FullName!], ModuleBoundaryRules.FailingTypes(SliceRules.NotPublic(SliceRules.DbContexts(types))));
    }

    [Fact]
    public void Rule_flags_a_public_endpoint_module()
    {
        var violations = VisibilityRules.PublicTypesBesidesModuleClass("PublicSurface", FixtureTypes.InNamespaceOf<PublicSurfaceEndpoints>());

        ArchitectureAssert.Violations(
            [$"{typeof(PublicSurfaceEndpoints).FullName} is public, but module PublicSurface exposes only its static class PublicSurfaceModule"],
            violations);
    }

    [Fact]
    public void Rule_flags_a_module_without_its_module_class()
    {
        var violations = VisibilityRules.PublicTypesBesidesModuleClass("Elsewhere", FixtureTypes.InNamespaceOf<PublicSurfaceEndpoints>());

        ArchitectureAssert.Violations(
            [
                $"{typeof(PublicSurfaceEndpoints).FullName} is public, but module Elsewhere exposes only its static class ElsewhereModule",
                $"{typeof(PublicSurfaceModule).FullName} is public, but module Elsewhere exposes only its static class ElsewhereModule",
                "module Elsewhere exposes 0 public static classes named ElsewhereModule instead of one",
            ],
            violations);
    }
}
