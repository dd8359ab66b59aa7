using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Access.Features.RevokeApiKey;

internal sealed class RevokeApiKeyEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapWorkspaceRoutes().MapDelete("/{workspaceId:guid}/api-keys/{keyId:guid}", async (Guid workspaceId, Guid keyId, IMediator mediator, CancellationToken ct) =>
            {
                await mediator.Send(new RevokeApiKeyCommand(workspaceId, keyId), ct);
                return TypedResults.NoContent();
            })
            .WithName("RevokeApiKey").WithSummary("Revoke an API key; it is refused from its next request on.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
}
