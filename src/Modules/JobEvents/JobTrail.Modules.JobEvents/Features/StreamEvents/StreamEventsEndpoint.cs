using Microsoft.AspNetCore.Mvc;

namespace JobTrail.Modules.JobEvents.Features.StreamEvents;

internal sealed class StreamEventsEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/stream", async (
                Guid jobId, long? afterSeq, [FromHeader(Name = "Last-Event-ID")] string? lastEventId, IMediator mediator, CancellationToken ct) =>
                new EventStreamResult(await mediator.Send(new OpenEventStreamQuery(jobId, afterSeq, lastEventId), ct)))
            .WithName("StreamEvents")
            .WithSummary("Server-Sent Events: every event after Last-Event-ID (or afterSeq), then live ones, until the job's terminal event.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests);
}
