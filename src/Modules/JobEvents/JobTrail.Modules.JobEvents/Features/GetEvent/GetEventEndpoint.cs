using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobEvents.Features.GetEvent;

internal sealed class GetEventEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/{eventId:guid}", async (Guid jobId, Guid eventId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetEventQuery(jobId, eventId), ct)))
            .WithName("GetEvent").WithSummary("Get one event of a job.")
            .ProducesProblem(StatusCodes.Status404NotFound);
}
