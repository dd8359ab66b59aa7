using Carter;
using JobTrail.BuildingBlocks.Paging;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobSteps.Features.ListStepsForJob;

internal sealed class ListStepsForJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapGet("/", async (Guid jobId, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListStepsForJobQuery(jobId, limit, cursor), ct)))
            .WithName("ListStepsForJob").WithSummary("List a job's steps by ordinal.")
            .Produces<Page<StepResponse>>().ProducesProblem(StatusCodes.Status404NotFound);
}
