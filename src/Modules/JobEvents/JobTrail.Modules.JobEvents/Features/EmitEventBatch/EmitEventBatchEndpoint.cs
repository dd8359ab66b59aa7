using Microsoft.AspNetCore.Mvc;
using JobTrail.Modules.JobEvents.Features.EmitEvent;

namespace JobTrail.Modules.JobEvents.Features.EmitEventBatch;

internal sealed class EmitEventBatchEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapPost("/batch", (Guid jobId, EmitEventBatchBody body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey) =>
                Send.Then(new EmitEventBatchCommand(jobId, body.Events, idempotencyKey), static (emitted, http) =>
                    JobEventRoutes.MarkReplay(http, emitted, new CreatedEvents<EventBatchResponse>(null, emitted, asItems: true))))
            .Describe("EmitEventBatch", "Append up to 1000 client events to a job's log, all or nothing.",
                StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict, StatusCodes.Status413PayloadTooLarge,
                StatusCodes.Status422UnprocessableEntity)
            .WithMetadata(new RequestSizeLimitAttribute(EventLimits.MaxBatchBodyBytes));
}
