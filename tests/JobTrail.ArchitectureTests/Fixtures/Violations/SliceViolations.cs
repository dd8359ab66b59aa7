using Carter;
using FluentValidation;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.Slices;

// A slice that breaks each slice rule once, next to pieces that keep them.

public sealed record SliceQuery(int Id) : IRequest<string>;

public sealed class PublicSliceHandler : IRequestHandler<SliceQuery, string>
{
    public Task<string> Handle(SliceQuery request, CancellationToken cancellationToken) => Task.FromResult("public");
}

internal class UnsealedSliceHandler : IRequestHandler<SliceQuery, string>
{
    public Task<string> Handle(SliceQuery request, CancellationToken cancellationToken) => Task.FromResult("unsealed");
}

internal sealed class SealedSliceHandler : IRequestHandler<SliceQuery, string>
{
    public Task<string> Handle(SliceQuery request, CancellationToken cancellationToken) => Task.FromResult("fine");
}

public sealed class PublicSliceValidator : AbstractValidator<SliceQuery>
{
    public PublicSliceValidator() => RuleFor(q => q.Id).GreaterThan(0);
}

internal sealed class SealedSliceValidator : AbstractValidator<SliceQuery>
{
    public SealedSliceValidator() => RuleFor(q => q.Id).GreaterThan(0);
}

internal sealed class SliceDbContext(DbContextOptions<SliceDbContext> options) : DbContext(options);

/// <summary>Does the handler's work itself: it queries the DbContext.</summary>
internal sealed class QueryingEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapGet("/slice/{id:int}", async (int id, SliceDbContext db, CancellationToken ct) =>
            TypedResults.Ok(await db.Database.SqlQueryRaw<string>("select name from slice where id = {0}", id).SingleAsync(ct)));
}

/// <summary>Calls a handler instead of sending the request.</summary>
internal sealed class HandlerCallingEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapGet("/slice/direct/{id:int}", (int id, CancellationToken ct) =>
            new SealedSliceHandler().Handle(new SliceQuery(id), ct));
}

/// <summary>Binds and sends: fine.</summary>
internal sealed class SendingEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapGet("/slice/sent/{id:int}", async (int id, IMediator mediator, CancellationToken ct) =>
            TypedResults.Ok(await mediator.Send(new SliceQuery(id), ct)));
}

/// <summary>Reads RunnerJobs' table in SQL.</summary>
internal static class ReadsAnotherModulesTable
{
    public const string Sql = "select count(*) from runner_jobs.jobs";
}
