namespace JobTrail.Modules.RunnerJobs.Features.GetJob;

internal sealed class GetJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapGet("/{jobId:guid}", (Guid jobId) => Send.Ok(new GetJobQuery(jobId)))
            .Describe("GetRunnerJob", "Get one runner job.", StatusCodes.Status404NotFound);
}
