namespace JobTrail.Modules.Access.Features.RevokeApiKey;

internal sealed class RevokeApiKeyEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapWorkspaceRoutes().MapDelete("/{workspaceId:guid}/api-keys/{keyId:guid}", (Guid workspaceId, Guid keyId) => Send.NoContent(new RevokeApiKeyCommand(workspaceId, keyId)))
            .Describe("RevokeApiKey", "Revoke an API key; it is refused from its next request on.", StatusCodes.Status403Forbidden, StatusCodes.Status404NotFound);
}
