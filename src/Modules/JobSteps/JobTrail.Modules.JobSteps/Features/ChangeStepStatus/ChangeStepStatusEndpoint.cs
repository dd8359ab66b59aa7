namespace JobTrail.Modules.JobSteps.Features.ChangeStepStatus;

internal sealed class ChangeStepStatusEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapPost("/{stepId:guid}/status", (Guid jobId, Guid stepId, ChangeStepStatusBody body) => Send.Ok(new ChangeStepStatusCommand(jobId, stepId, body.Status, body.Error)))
            .Describe("ChangeStepStatus", "Move a step PENDING → RUNNING → COMPLETED/FAILED; the duration is computed.", StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
}
