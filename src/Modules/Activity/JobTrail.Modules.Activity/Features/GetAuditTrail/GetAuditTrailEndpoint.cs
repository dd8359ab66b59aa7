using Carter;
using JobTrail.BuildingBlocks.Paging;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Activity.Features.GetAuditTrail;

internal sealed class GetAuditTrailEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/audit/{entityType}/{entityId}", async (string entityType, string entityId, int? limit, string? cursor,
                    IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetAuditTrailQuery(entityType, entityId, limit, cursor), ct)))
            .WithName("GetAuditTrail").WithSummary("One entity's whole history, oldest first, including refused attempts.")
            .Produces<Page<ActivityResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
}
