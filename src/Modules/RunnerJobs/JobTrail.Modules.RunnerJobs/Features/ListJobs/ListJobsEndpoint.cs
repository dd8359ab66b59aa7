using Carter;
using JobTrail.BuildingBlocks.Paging;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.RunnerJobs.Features.ListJobs;

internal sealed class ListJobsEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapGet("/", async (string? status, string? type, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListJobsQuery(status, type, limit, cursor), ct)))
            .WithName("ListRunnerJobs").WithSummary("List runner jobs, newest first.")
            .Produces<Page<JobResponse>>().ProducesProblem(StatusCodes.Status400BadRequest);
}
