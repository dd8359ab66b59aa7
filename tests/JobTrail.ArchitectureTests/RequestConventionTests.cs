using JobTrail.ArchitectureTests.Analysis;
using JobTrail.ArchitectureTests.Fixtures;
using JobTrail.ArchitectureTests.Fixtures.Violations.MissingAuditDeclaration;
using JobTrail.ArchitectureTests.Fixtures.Violations.MissingScope;
using JobTrail.ArchitectureTests.Fixtures.Violations.MissingValidator;
using JobTrail.ArchitectureTests.Rules;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.ArchitectureTests;

public sealed class RequestConventionTests
{
    [Fact]
    public void The_rules_see_the_commands_and_queries_of_the_modules()
    {
        var types = BuiltAssemblies.ModuleImplementations.SelectMany(a => a.AllTypes()).ToList();

        Assert.NotEmpty(RequestConventionRules.Commands(types));
        Assert.NotEmpty(RequestConventionRules.Queries(types));
    }

    [Fact]
    public void Every_command_has_a_validator() =>
        ArchitectureAssert.NoViolations(
            [.. BuiltAssemblies.AllModuleAssemblies.SelectMany(RequestConventionRules.CommandsWithoutValidator)]);

    [Fact]
    public void Every_command_and_query_requires_a_known_scope() =>
        ArchitectureAssert.NoViolations(
            [.. BuiltAssemblies.AllModuleAssemblies.SelectMany(a => RequestConventionRules.RequestsWithoutKnownScope(a, Scopes.All))]);

    [Fact]
    public void Every_command_declares_whether_it_is_audited() =>
        ArchitectureAssert.NoViolations(
            [.. BuiltAssemblies.AllModuleAssemblies.SelectMany(RequestConventionRules.CommandsWithoutAuditDeclaration)]);

    [Fact]
    public void Rule_flags_a_command_without_a_validator()
    {
        var violations = RequestConventionRules.CommandsWithoutValidator(FixtureTypes.InNamespaceOf<DeleteFixtureCommand>());

        ArchitectureAssert.Violations([$"{typeof(DeleteFixtureCommand).FullName} is a command without a validator"], violations);
    }

    [Fact]
    public void Rule_flags_requests_without_a_known_scope()
    {
        var violations = RequestConventionRules.RequestsWithoutKnownScope(FixtureTypes.InNamespaceOf<CommandWithoutScope>(), Scopes.All);

        ArchitectureAssert.Violations(
            [
                $"{typeof(CommandWithoutScope).FullName} has no [RequiresScope]",
                $"{typeof(QueryWithoutScope).FullName} has no [RequiresScope]",
                $"{typeof(CommandWithMisspelledScope).FullName} requires the unknown scope 'jobs:wirte'",
            ],
            violations);
    }

    [Fact]
    public void Rule_flags_a_command_without_an_audit_declaration()
    {
        var violations = RequestConventionRules.CommandsWithoutAuditDeclaration(FixtureTypes.InNamespaceOf<CommandWithoutAuditDeclaration>());

        ArchitectureAssert.Violations(
            [
                $"{typeof(CommandWithoutAuditDeclaration).FullName} declares neither [Audited] nor [NotAudited]",
                $"{typeof(CommandWithBothAuditDeclarations).FullName} declares both [Audited] and [NotAudited]",
            ],
            violations);
    }
}
