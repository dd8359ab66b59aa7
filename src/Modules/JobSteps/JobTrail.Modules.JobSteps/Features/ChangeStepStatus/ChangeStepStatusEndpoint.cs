using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobSteps.Features.ChangeStepStatus;

internal sealed class ChangeStepStatusEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapPost("/{stepId:guid}/status", async (Guid jobId, Guid stepId, ChangeStepStatusBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ChangeStepStatusCommand(jobId, stepId, body.Status, body.Error), ct)))
            .WithName("ChangeStepStatus").WithSummary("Move a step PENDING → RUNNING → COMPLETED/FAILED; the duration is computed.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
}
