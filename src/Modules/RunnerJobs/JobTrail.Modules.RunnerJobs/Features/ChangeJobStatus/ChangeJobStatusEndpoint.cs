using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.RunnerJobs.Features.ChangeJobStatus;

internal sealed class ChangeJobStatusEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapPost("/{jobId:guid}/status", async (Guid jobId, ChangeJobStatusBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ChangeJobStatusCommand(jobId, body.Status, body.Error), ct)))
            .WithName("ChangeRunnerJobStatus").WithSummary("Move a job along PENDING → QUEUED → RUNNING → COMPLETED/FAILED/CANCELLED.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
}
