namespace JobTrail.Modules.Access.Features.CreateApiKey;

internal sealed class CreateApiKeyEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapWorkspaceRoutes().MapPost("/{workspaceId:guid}/api-keys", (Guid workspaceId, CreateApiKeyBody body) => Send.Created(new CreateApiKeyCommand(workspaceId, body.Name, body.ActorId, body.Scopes)))
            .Describe("CreateApiKey", "Create an API key; the plaintext key is shown only in this response.", StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
}
