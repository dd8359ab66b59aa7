namespace JobTrail.Modules.RunnerJobs.Features.ChangeJobStatus;

internal sealed class ChangeJobStatusEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapPost("/{jobId:guid}/status", (Guid jobId, ChangeJobStatusBody body) => Send.Ok(new ChangeJobStatusCommand(jobId, body.Status, body.Error)))
            .Describe("ChangeRunnerJobStatus", "Move a job along PENDING → QUEUED → RUNNING → COMPLETED/FAILED/CANCELLED.",
                StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
}
