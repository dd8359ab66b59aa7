namespace JobTrail.Modules.Activity.Features.GetActivity;

internal sealed class GetActivityEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/{id:guid}", (Guid id) => Send.Ok(new GetActivityQuery(id)))
            .Describe("GetActivity", "Get one activity record.", StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
}
