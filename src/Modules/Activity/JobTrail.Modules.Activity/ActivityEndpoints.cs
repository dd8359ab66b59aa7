using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.Activity.Features;
using JobTrail.Modules.Activity.Features.GetActivity;
using JobTrail.Modules.Activity.Features.GetAuditTrail;
using JobTrail.Modules.Activity.Features.ListActivities;
using JobTrail.Modules.Activity.Features.RecordActivity;
using JobTrail.Modules.Activity.Features.VerifyActivityChain;
using JobTrail.BuildingBlocks.Integrity;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Activity;

internal sealed class ActivityEndpoints : IEndpointModule
{
    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        var activity = app.MapGroup("/api/activity").WithTags("Activity");

        activity.MapGet("/", async (string? actorId, string? action, string? entityType, string? entityId, string? outcome,
                    DateTimeOffset? from, DateTimeOffset? to, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(
                    new ListActivitiesQuery(actorId, action, entityType, entityId, outcome, from, to, limit, cursor), ct)))
            .WithName("ListActivities").WithSummary("List the workspace's activity, newest first; 'action' may be a prefix such as 'runner_job.*'.")
            .Produces<Page<ActivityResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);

        activity.MapGet("/verify", async (long? fromSeq, long? toSeq, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new VerifyActivityChainQuery(fromSeq, toSeq), ct)))
            .WithName("VerifyActivityChain")
            .WithSummary("Recompute the workspace's activity chain over [fromSeq, toSeq]: {valid, checked, firstBadSeq, reason: hash_mismatch | gap | broken_link}.")
            .Produces<ChainVerification>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);

        activity.MapGet("/{id:guid}", async (Guid id, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetActivityQuery(id), ct)))
            .WithName("GetActivity").WithSummary("Get one activity record.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        activity.MapGet("/audit/{entityType}/{entityId}", async (string entityType, string entityId, int? limit, string? cursor,
                    IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetAuditTrailQuery(entityType, entityId, limit, cursor), ct)))
            .WithName("GetAuditTrail").WithSummary("One entity's whole history, oldest first, including refused attempts.")
            .Produces<Page<ActivityResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);

        activity.MapPost("/", async (RecordActivityCommand command, IMediator mediator, CancellationToken ct) =>
            {
                var recorded = await mediator.Send(command, ct);
                return TypedResults.Created($"/api/activity/{recorded.Id}", recorded);
            })
            .WithName("RecordActivity").WithSummary("Record an activity from an outside source, e.g. an identity provider's auth.login.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
    }
}
