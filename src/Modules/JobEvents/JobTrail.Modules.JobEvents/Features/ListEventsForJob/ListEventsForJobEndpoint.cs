namespace JobTrail.Modules.JobEvents.Features.ListEventsForJob;

internal sealed class ListEventsForJobEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/", (Guid jobId, string? types, long? afterSeq, DateTimeOffset? from, DateTimeOffset? to, int? limit, string? cursor) =>
                Send.Ok(new ListEventsForJobQuery(jobId, types, afterSeq, from, to, limit, cursor)))
            .Describe("ListEventsForJob", "List a job's events in seq order; filter by types, afterSeq and occurredAt in [from, to).",
                StatusCodes.Status400BadRequest, StatusCodes.Status404NotFound);
}
