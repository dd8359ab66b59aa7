using Carter;
using JobTrail.BuildingBlocks.Paging;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobEvents.Features.GetRecentEvents;

internal sealed class GetRecentEventsEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/recent", async (Guid jobId, int? count, HttpResponse response, IMediator mediator, CancellationToken ct) =>
            {
                var recent = await mediator.Send(new GetRecentEventsQuery(jobId, count), ct);
                response.Headers[JobEventRoutes.SourceHeader] = recent.Source;
                return TypedResults.Ok(recent.Page);
            })
            .WithName("GetRecentEvents").WithSummary("The newest events (count ≤ 1000, default 100), oldest first; from Valkey, or PostgreSQL when Valkey cannot answer.")
            .Produces<Page<JobEventResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
}
