namespace JobTrail.Modules.Access.Features.ListApiKeys;

internal sealed class ListApiKeysEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapWorkspaceRoutes().MapGet("/{workspaceId:guid}/api-keys", (Guid workspaceId, int? limit, string? cursor) => Send.Ok(new ListApiKeysQuery(workspaceId, limit, cursor)))
            .Describe("ListApiKeys", "List a workspace's API keys (never their secrets).", StatusCodes.Status403Forbidden);
}
