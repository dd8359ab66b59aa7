using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.RunnerJobs.Features;
using JobTrail.Modules.RunnerJobs.Features.ChangeJobStatus;
using JobTrail.Modules.RunnerJobs.Features.CreateJob;
using JobTrail.Modules.RunnerJobs.Features.GetJob;
using JobTrail.Modules.RunnerJobs.Features.ListJobs;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.RunnerJobs;

internal sealed class RunnerJobsEndpoints : IEndpointModule
{
    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/runner-jobs").WithTags("Runner jobs");

        jobs.MapPost("/", async (CreateJobCommand command, IMediator mediator, CancellationToken ct) =>
            {
                var job = await mediator.Send(command, ct);
                return TypedResults.Created($"/api/runner-jobs/{job.Id}", job);
            })
            .WithName("CreateRunnerJob").WithSummary("Create a runner job (PENDING).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);

        jobs.MapGet("/{jobId:guid}", async (Guid jobId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new GetJobQuery(jobId), ct)))
            .WithName("GetRunnerJob").WithSummary("Get one runner job.")
            .ProducesProblem(StatusCodes.Status404NotFound);

        jobs.MapGet("/", async (string? status, string? type, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListJobsQuery(status, type, limit, cursor), ct)))
            .WithName("ListRunnerJobs").WithSummary("List runner jobs, newest first.")
            .Produces<Page<JobResponse>>().ProducesProblem(StatusCodes.Status400BadRequest);

        jobs.MapPost("/{jobId:guid}/status", async (Guid jobId, ChangeJobStatusBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ChangeJobStatusCommand(jobId, body.Status, body.Error), ct)))
            .WithName("ChangeRunnerJobStatus").WithSummary("Move a job along PENDING → QUEUED → RUNNING → COMPLETED/FAILED/CANCELLED.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
    }
}
