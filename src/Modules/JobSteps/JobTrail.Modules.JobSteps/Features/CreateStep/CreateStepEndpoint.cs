namespace JobTrail.Modules.JobSteps.Features.CreateStep;

internal sealed class CreateStepEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapPost("/", (Guid jobId, CreateStepBody body) =>
                Send.Created(new CreateStepCommand(jobId, body.Name, body.Phase, body.Type, body.Ordinal), step => $"/api/runner-jobs/{jobId}/steps/{step.Id}"))
            .Describe("CreateStep", "Add a step to a job (PENDING); the next ordinal when none is given.",
                StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound, StatusCodes.Status409Conflict);
}
