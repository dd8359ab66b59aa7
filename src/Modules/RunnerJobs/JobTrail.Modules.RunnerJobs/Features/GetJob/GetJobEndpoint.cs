using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.RunnerJobs.Features.GetJob;

internal sealed class GetJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapGet("/{jobId:guid}", async (Guid jobId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetJobQuery(jobId), ct)))
            .WithName("GetRunnerJob").WithSummary("Get one runner job.")
            .ProducesProblem(StatusCodes.Status404NotFound);
}
