using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobSteps.Features.CreateStep;

internal sealed class CreateStepEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapPost("/", async (Guid jobId, CreateStepBody body, IMediator mediator, CancellationToken ct) =>
            {
                var step = await mediator.Send(new CreateStepCommand(jobId, body.Name, body.Phase, body.Type, body.Ordinal), ct);
                return TypedResults.Created($"/api/runner-jobs/{jobId}/steps/{step.Id}", step);
            })
            .WithName("CreateStep").WithSummary("Add a step to a job (PENDING); the next ordinal when none is given.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
}
