using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.RunnerJobs.Features.CreateJob;

internal sealed class CreateJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapPost("/", async (CreateJobCommand command, IMediator mediator, CancellationToken ct) =>
            {
                var job = await mediator.Send(command, ct);
                return TypedResults.Created($"/api/runner-jobs/{job.Id}", job);
            })
            .WithName("CreateRunnerJob").WithSummary("Create a runner job (PENDING).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
}
