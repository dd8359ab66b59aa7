using Carter;
using JobTrail.BuildingBlocks.Paging;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobEvents.Features.ListEventsForJob;

internal sealed class ListEventsForJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/", async (
                Guid jobId, string? types, long? afterSeq, DateTimeOffset? from, DateTimeOffset? to, int? limit, string? cursor,
                IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListEventsForJobQuery(jobId, types, afterSeq, from, to, limit, cursor), ct)))
            .WithName("ListEventsForJob").WithSummary("List a job's events in seq order; filter by types, afterSeq and occurredAt in [from, to).")
            .Produces<Page<JobEventResponse>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound);
}
