namespace JobTrail.Modules.RunnerJobs.Features.CreateJob;

internal sealed class CreateJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapPost("/", (CreateJobCommand command) => Send.Created(command, job => $"/api/runner-jobs/{job.Id}"))
            .Describe("CreateRunnerJob", "Create a runner job (PENDING).", StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden);
}
