using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobEvents.Features.EmitEvent;

internal sealed class EmitEventEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapPost("/", async (
                Guid jobId, EventDraft body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
                HttpResponse response, IMediator mediator, CancellationToken ct) =>
            {
                var emitted = await mediator.Send(
                    new EmitEventCommand(jobId, body.Type, body.StepId, body.Payload, body.OccurredAt, idempotencyKey), ct);
                JobEventRoutes.MarkReplay(response, emitted);
                var e = emitted.Events[0];
                return TypedResults.Created($"/api/runner-jobs/{jobId}/events/{e.Id}", e);
            })
            .WithName("EmitEvent")
            .WithSummary("Append one client event to a job's log; a repeated Idempotency-Key returns the first event (201, Idempotent-Replayed: true).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
}
