namespace JobTrail.Modules.Activity.Features.ListActivities;

internal sealed class ListActivitiesEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/", (string? actorId, string? action, string? entityType, string? entityId, string? outcome,
                DateTimeOffset? from, DateTimeOffset? to, int? limit, string? cursor) =>
                Send.Ok(new ListActivitiesQuery(actorId, action, entityType, entityId, outcome, from, to, limit, cursor)))
            .Describe("ListActivities", "List the workspace's activity, newest first; 'action' may be a prefix such as 'runner_job.*'.",
                StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden);
}
