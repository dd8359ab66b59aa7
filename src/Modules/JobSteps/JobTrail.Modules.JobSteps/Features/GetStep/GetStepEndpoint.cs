using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobSteps.Features.GetStep;

internal sealed class GetStepEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapGet("/{stepId:guid}", async (Guid jobId, Guid stepId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetStepQuery(jobId, stepId), ct)))
            .WithName("GetStep").WithSummary("Get one step.")
            .ProducesProblem(StatusCodes.Status404NotFound);
}
