namespace JobTrail.Modules.JobEvents.Features.GetEvent;

internal sealed class GetEventEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/{eventId:guid}", (Guid jobId, Guid eventId) => Send.Ok(new GetEventQuery(jobId, eventId)))
            .Describe("GetEvent", "Get one event of a job.", StatusCodes.Status404NotFound);
}
