using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Features.EmitEvent;
using JobTrail.Modules.JobEvents.Features.EmitEventBatch;
using JobTrail.Modules.JobEvents.Features.GetEvent;
using JobTrail.Modules.JobEvents.Features.GetRecentEvents;
using JobTrail.Modules.JobEvents.Features.ListEventsForJob;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using JobTrail.Modules.JobEvents.Features.VerifyEventChain;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.Modules.JobEvents.Streaming;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobEvents;

internal sealed class JobEventsEndpoints : IEndpointModule
{
    /// <summary>Set on a response that repeats the first result of an Idempotency-Key instead of writing again.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        var events = app.MapGroup("/api/runner-jobs/{jobId:guid}/events").WithTags("Job events");

        events.MapPost("/", async (
                Guid jobId, EventDraft body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
                HttpResponse response, IMediator mediator, CancellationToken ct) =>
            {
                var emitted = await mediator.Send(
                    new EmitEventCommand(jobId, body.Type, body.StepId, body.Payload, body.OccurredAt, idempotencyKey), ct);
                MarkReplay(response, emitted);
                var e = emitted.Events[0];
                return TypedResults.Created($"/api/runner-jobs/{jobId}/events/{e.Id}", e);
            })
            .WithName("EmitEvent")
            .WithSummary("Append one client event to a job's log; a repeated Idempotency-Key returns the first event (201, Idempotent-Replayed: true).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        events.MapPost("/batch", async (
                Guid jobId, EmitEventBatchBody body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
                HttpResponse response, IMediator mediator, CancellationToken ct) =>
            {
                var emitted = await mediator.Send(new EmitEventBatchCommand(jobId, body.Events, idempotencyKey), ct);
                MarkReplay(response, emitted);
                return TypedResults.Created((string?)null, new EventBatchResponse(emitted.Events));
            })
            .WithName("EmitEventBatch")
            .WithSummary("Append up to 1000 client events to a job's log, all or nothing.")
            .WithMetadata(new RequestSizeLimitAttribute(EventLimits.MaxBatchBodyBytes))
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        events.MapGet("/", async (
                Guid jobId, string? types, long? afterSeq, DateTimeOffset? from, DateTimeOffset? to, int? limit, string? cursor,
                IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListEventsForJobQuery(jobId, types, afterSeq, from, to, limit, cursor), ct)))
            .WithName("ListEventsForJob").WithSummary("List a job's events in seq order; filter by types, afterSeq and occurredAt in [from, to).")
            .Produces<Page<JobEventResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);

        events.MapGet("/{eventId:guid}", async (Guid jobId, Guid eventId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetEventQuery(jobId, eventId), ct)))
            .WithName("GetEvent").WithSummary("Get one event of a job.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        events.MapGet("/recent", async (Guid jobId, int? count, HttpResponse response, IMediator mediator, CancellationToken ct) =>
            {
                var recent = await mediator.Send(new GetRecentEventsQuery(jobId, count), ct);
                response.Headers[SourceHeader] = recent.Source;
                return TypedResults.Ok(recent.Page);
            })
            .WithName("GetRecentEvents").WithSummary("The newest events (count ≤ 1000, default 100), oldest first; from Valkey, or PostgreSQL when Valkey cannot answer.")
            .Produces<Page<JobEventResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);

        events.MapGet("/stream", async (
                Guid jobId, long? afterSeq, [FromHeader(Name = "Last-Event-ID")] string? lastEventId, IMediator mediator, CancellationToken ct) =>
                new EventStreamResult(await mediator.Send(new OpenEventStreamQuery(jobId, afterSeq, lastEventId), ct)))
            .WithName("StreamEvents")
            .WithSummary("Server-Sent Events: every event after Last-Event-ID (or afterSeq), then live ones, until the job's terminal event.")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status429TooManyRequests);

        events.MapGet("/verify", async (Guid jobId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new VerifyEventChainQuery(jobId), ct)))
            .WithName("VerifyEventChain")
            .WithSummary("Recompute the job's hash chain: {valid, checked, firstBadSeq, reason: hash_mismatch | gap | broken_link | head_behind_chain}, with the last good link to export.")
            .Produces<ChainVerification>().ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>Says where a recent-events answer came from: <c>valkey</c> or <c>postgres</c>.</summary>
    public const string SourceHeader = "X-JobTrail-Source";

    private static void MarkReplay(HttpResponse response, EmittedEvents emitted)
    {
        if (emitted.Replayed)
        {
            response.Headers[ReplayedHeader] = "true";
        }
    }
}
