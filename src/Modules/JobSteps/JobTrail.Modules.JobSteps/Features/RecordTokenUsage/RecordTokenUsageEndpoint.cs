using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobSteps.Features.RecordTokenUsage;

internal sealed class RecordTokenUsageEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapPost("/{stepId:guid}/tokens", async (Guid jobId, Guid stepId, RecordTokenUsageBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new RecordTokenUsageCommand(jobId, stepId, body.Input, body.Output), ct)))
            .WithName("RecordTokenUsage").WithSummary("Add token usage to an AI_ACTION step.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
}
