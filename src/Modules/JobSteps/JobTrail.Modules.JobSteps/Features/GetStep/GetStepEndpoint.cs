namespace JobTrail.Modules.JobSteps.Features.GetStep;

internal sealed class GetStepEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapGet("/{stepId:guid}", (Guid jobId, Guid stepId) => Send.Ok(new GetStepQuery(jobId, stepId)))
            .Describe("GetStep", "Get one step.", StatusCodes.Status404NotFound);
}
