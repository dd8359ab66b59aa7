using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using MediatR;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.MissingAuditDeclaration;

// A command that does not say whether it is audited, and one that says both.

[RequiresScope(Scopes.JobsWrite)]
internal sealed record CommandWithoutAuditDeclaration(Guid Id) : ICommand<Unit>;

internal sealed class CommandWithoutAuditDeclarationValidator : AbstractValidator<CommandWithoutAuditDeclaration>
{
    public CommandWithoutAuditDeclarationValidator() => RuleFor(x => x.Id).NotEmpty();
}

[RequiresScope(Scopes.JobsWrite)]
[Audited("fixture.locked", "fixture")]
[NotAudited("contradicts the line above")]
internal sealed record CommandWithBothAuditDeclarations(Guid Id) : ICommand<Unit>;

internal sealed class CommandWithBothAuditDeclarationsValidator : AbstractValidator<CommandWithBothAuditDeclarations>
{
    public CommandWithBothAuditDeclarationsValidator() => RuleFor(x => x.Id).NotEmpty();
}
