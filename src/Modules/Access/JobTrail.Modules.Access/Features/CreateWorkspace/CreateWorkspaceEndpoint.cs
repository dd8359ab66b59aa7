namespace JobTrail.Modules.Access.Features.CreateWorkspace;

internal sealed class CreateWorkspaceEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapWorkspaceRoutes().MapPost("/", (CreateWorkspaceBody body) => Send.Created(new CreateWorkspaceCommand(body.Slug, body.Name)))
            .Describe("CreateWorkspace", "Create a workspace (system scope).", StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status409Conflict);
}
