using Carter;
using JobTrail.BuildingBlocks.Paging;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Activity.Features.ListActivities;

internal sealed class ListActivitiesEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/", async (string? actorId, string? action, string? entityType, string? entityId, string? outcome,
                    DateTimeOffset? from, DateTimeOffset? to, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(
                    new ListActivitiesQuery(actorId, action, entityType, entityId, outcome, from, to, limit, cursor), ct)))
            .WithName("ListActivities").WithSummary("List the workspace's activity, newest first; 'action' may be a prefix such as 'runner_job.*'.")
            .Produces<Page<ActivityResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
}
