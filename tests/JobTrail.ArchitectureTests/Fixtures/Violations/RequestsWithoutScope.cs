using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using MediatR;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.MissingScope;

// A command and a query without [RequiresScope], and a command whose scope does not exist.

[Audited("fixture.archived", "fixture")]
internal sealed record CommandWithoutScope(Guid Id) : ICommand<Unit>;

internal sealed class CommandWithoutScopeValidator : AbstractValidator<CommandWithoutScope>
{
    public CommandWithoutScopeValidator() => RuleFor(x => x.Id).NotEmpty();
}

internal sealed record QueryWithoutScope(Guid Id) : IQuery<string>;

[RequiresScope("jobs:wirte")]
[Audited("fixture.restored", "fixture")]
internal sealed record CommandWithMisspelledScope(Guid Id) : ICommand<Unit>;

internal sealed class CommandWithMisspelledScopeValidator : AbstractValidator<CommandWithMisspelledScope>
{
    public CommandWithMisspelledScopeValidator() => RuleFor(x => x.Id).NotEmpty();
}
