namespace JobTrail.Modules.JobSteps.Features.RecordTokenUsage;

internal sealed class RecordTokenUsageEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapPost("/{stepId:guid}/tokens", (Guid jobId, Guid stepId, RecordTokenUsageBody body) => Send.Ok(new RecordTokenUsageCommand(jobId, stepId, body.Input, body.Output)))
            .Describe("RecordTokenUsage", "Add token usage to an AI_ACTION step.", StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
}
