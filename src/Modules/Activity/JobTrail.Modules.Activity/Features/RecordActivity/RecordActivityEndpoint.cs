namespace JobTrail.Modules.Activity.Features.RecordActivity;

internal sealed class RecordActivityEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapPost("/", (RecordActivityCommand command) => Send.Created(command, recorded => $"/api/activity/{recorded.Id}"))
            .Describe("RecordActivity", "Record an activity from an outside source, e.g. an identity provider's auth.login.",
                StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status422UnprocessableEntity);
}
