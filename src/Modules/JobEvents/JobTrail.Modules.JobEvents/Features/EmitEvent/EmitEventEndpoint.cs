using Microsoft.AspNetCore.Mvc;

namespace JobTrail.Modules.JobEvents.Features.EmitEvent;

internal sealed class EmitEventEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapPost("/", (Guid jobId, EventDraft body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey) =>
                Send.Then(new EmitEventCommand(jobId, body.Type, body.StepId, body.Payload, body.OccurredAt, idempotencyKey), (emitted, http) =>
                    JobEventRoutes.MarkReplay(http, emitted, new CreatedEvents<JobEventResponse>(
                        $"/api/runner-jobs/{jobId}/events/{emitted.Stored[0].Id}", emitted, asItems: false))))
            .Describe("EmitEvent",
                "Append one client event to a job's log; a repeated Idempotency-Key returns the first event (201, Idempotent-Replayed: true).",
                StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge,
                StatusCodes.Status422UnprocessableEntity);
}
