namespace JobTrail.Modules.JobSteps.Features.ListStepsForJob;

internal sealed class ListStepsForJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobStepRoutes().MapGet("/", (Guid jobId, int? limit, string? cursor) => Send.Ok(new ListStepsForJobQuery(jobId, limit, cursor)))
            .Describe("ListStepsForJob", "List a job's steps by ordinal.", StatusCodes.Status404NotFound);
}
