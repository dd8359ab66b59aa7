namespace JobTrail.Modules.RunnerJobs.Features.ListJobs;

internal sealed class ListJobsEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapRunnerJobRoutes().MapGet("/", (string? status, string? type, int? limit, string? cursor) => Send.Ok(new ListJobsQuery(status, type, limit, cursor)))
            .Describe("ListRunnerJobs", "List runner jobs, newest first.", StatusCodes.Status400BadRequest);
}
