using Carter;
using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using MediatR;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.ArchitectureTests.Fixtures.Compliant;

// A module named "Compliant" that follows every convention: no rule may flag anything here.

/// <summary>
/// Written as a C# 14 extension block, which compiles to public nested marker types: the rules must not
/// take those for types the module exposes.
/// </summary>
public static class CompliantModule
{
    extension(IServiceCollection services)
    {
        public IServiceCollection AddCompliantModule(IConfiguration configuration) => services.AddSingleton(configuration);
    }
}

[RequiresScope(Scopes.JobsWrite)]
[Audited("fixture.created", "fixture")]
internal sealed record CreateFixtureCommand(string Name) : ICommand<Guid>;

internal sealed class CreateFixtureValidator : AbstractValidator<CreateFixtureCommand>
{
    public CreateFixtureValidator() => RuleFor(x => x.Name).NotEmpty();
}

internal sealed class CreateFixtureHandler : IRequestHandler<CreateFixtureCommand, Guid>
{
    public Task<Guid> Handle(CreateFixtureCommand request, CancellationToken cancellationToken) => Task.FromResult(Guid.CreateVersion7());
}

[RequiresScope(Scopes.JobsWrite)]
[NotAudited("touching a fixture changes nothing worth recording")]
internal sealed record TouchFixtureCommand(Guid Id) : ICommand<Unit>;

/// <summary>A validator through a generic base class still counts for its command.</summary>
internal sealed class TouchFixtureValidator : IdValidator<TouchFixtureCommand>
{
    public TouchFixtureValidator() : base(x => x.Id)
    {
    }
}

internal abstract class IdValidator<T> : AbstractValidator<T>
{
    protected IdValidator(System.Linq.Expressions.Expression<Func<T, Guid>> id) => RuleFor(id).NotEmpty();
}

/// <summary>Queries need a scope but no validator and no audit declaration.</summary>
[RequiresScope(Scopes.JobsRead)]
internal sealed record GetFixtureQuery(Guid Id) : IQuery<string>;

internal sealed class GetFixtureHandler : IRequestHandler<GetFixtureQuery, string>
{
    public Task<string> Handle(GetFixtureQuery request, CancellationToken cancellationToken) => Task.FromResult(request.Id.ToString());
}

internal sealed class CompliantDbContext(DbContextOptions<CompliantDbContext> options) : DbContext(options);

internal sealed class CompliantEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app)
    {
        // A fixture: nothing to map.
    }
}
