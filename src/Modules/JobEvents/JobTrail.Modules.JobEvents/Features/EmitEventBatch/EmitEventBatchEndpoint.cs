using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobEvents.Features.EmitEventBatch;

internal sealed class EmitEventBatchEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapPost("/batch", async (
                Guid jobId, EmitEventBatchBody body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
                HttpResponse response, IMediator mediator, CancellationToken ct) =>
            {
                var emitted = await mediator.Send(new EmitEventBatchCommand(jobId, body.Events, idempotencyKey), ct);
                JobEventRoutes.MarkReplay(response, emitted);
                return TypedResults.Created((string?)null, new EventBatchResponse(emitted.Events));
            })
            .WithName("EmitEventBatch")
            .WithSummary("Append up to 1000 client events to a job's log, all or nothing.")
            .WithMetadata(new RequestSizeLimitAttribute(EventLimits.MaxBatchBodyBytes))
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
}
