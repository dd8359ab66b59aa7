using JobTrail.BuildingBlocks.Streaming;
using Microsoft.AspNetCore.Mvc;

namespace JobTrail.Modules.Activity.Features.StreamActivity;

internal sealed class StreamActivityEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/stream", async (string? action, string? entityType, string? actorId, string? outcome, long? afterPosition,
                [FromHeader(Name = "Last-Event-ID")] string? lastEventId, IMediator mediator, HttpContext http, CancellationToken ct) =>
            {
                var stream = await mediator.Send(
                    new OpenActivityStreamQuery(new ActivityFeedFilter(action, entityType, actorId, outcome), afterPosition, lastEventId), ct);
                // Releases the stream's slot even when the request ends before the stream is written.
                http.Response.RegisterForDisposeAsync(stream);
                return new ServerSentEventsResult(stream.ReadAsync(ct), stream.Retry, stream);
            })
            .WithName("StreamActivity")
            .WithSummary("Server-Sent Events: the workspace's activity as it is recorded (id = position), after Last-Event-ID or afterPosition, else from now; filters as on the list.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);
}
