using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using MediatR;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.MissingValidator;

// Two commands, one validated: only the other must be flagged.

[RequiresScope(Scopes.JobsWrite)]
[Audited("fixture.renamed", "fixture")]
internal sealed record RenameFixtureCommand(Guid Id, string Name) : ICommand<Unit>;

internal sealed class RenameFixtureValidator : AbstractValidator<RenameFixtureCommand>
{
    public RenameFixtureValidator() => RuleFor(x => x.Name).NotEmpty();
}

[RequiresScope(Scopes.JobsWrite)]
[Audited("fixture.deleted", "fixture")]
internal sealed record DeleteFixtureCommand(Guid Id) : ICommand<Unit>;
