using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.JobSteps.Features;
using JobTrail.Modules.JobSteps.Features.ChangeStepStatus;
using JobTrail.Modules.JobSteps.Features.CreateStep;
using JobTrail.Modules.JobSteps.Features.GetStep;
using JobTrail.Modules.JobSteps.Features.ListStepsForJob;
using JobTrail.Modules.JobSteps.Features.RecordTokenUsage;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobSteps;

internal sealed class JobStepsEndpoints : IEndpointModule
{
    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        var steps = app.MapGroup("/api/runner-jobs/{jobId:guid}/steps").WithTags("Job steps");

        steps.MapPost("/", async (Guid jobId, CreateStepBody body, IMediator mediator, CancellationToken ct) =>
            {
                var step = await mediator.Send(new CreateStepCommand(jobId, body.Name, body.Phase, body.Type, body.Ordinal), ct);
                return TypedResults.Created($"/api/runner-jobs/{jobId}/steps/{step.Id}", step);
            })
            .WithName("CreateStep").WithSummary("Add a step to a job (PENDING); the next ordinal when none is given.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);

        steps.MapGet("/", async (Guid jobId, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListStepsForJobQuery(jobId, limit, cursor), ct)))
            .WithName("ListStepsForJob").WithSummary("List a job's steps by ordinal.")
            .Produces<Page<StepResponse>>().ProducesProblem(StatusCodes.Status404NotFound);

        steps.MapGet("/{stepId:guid}", async (Guid jobId, Guid stepId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetStepQuery(jobId, stepId), ct)))
            .WithName("GetStep").WithSummary("Get one step.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        steps.MapPost("/{stepId:guid}/status", async (Guid jobId, Guid stepId, ChangeStepStatusBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ChangeStepStatusCommand(jobId, stepId, body.Status, body.Error), ct)))
            .WithName("ChangeStepStatus").WithSummary("Move a step PENDING → RUNNING → COMPLETED/FAILED; the duration is computed.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);

        steps.MapPost("/{stepId:guid}/tokens", async (Guid jobId, Guid stepId, RecordTokenUsageBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new RecordTokenUsageCommand(jobId, stepId, body.Input, body.Output), ct)))
            .WithName("RecordTokenUsage").WithSummary("Add token usage to an AI_ACTION step.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
    }
}
