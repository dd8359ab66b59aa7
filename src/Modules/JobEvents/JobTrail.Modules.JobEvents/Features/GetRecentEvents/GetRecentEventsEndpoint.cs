namespace JobTrail.Modules.JobEvents.Features.GetRecentEvents;

internal sealed class GetRecentEventsEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/recent", (Guid jobId, int? count) => Send.Then(new GetRecentEventsQuery(jobId, count), static (recent, http) =>
            {
                http.Response.Headers[JobEventRoutes.SourceHeader] = recent.Source;
                return TypedResults.Ok(recent.Page);
            }))
            .Describe("GetRecentEvents", "The newest events (count ≤ 1000, default 100), oldest first; from Valkey, or PostgreSQL when Valkey cannot answer.",
                StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
}
