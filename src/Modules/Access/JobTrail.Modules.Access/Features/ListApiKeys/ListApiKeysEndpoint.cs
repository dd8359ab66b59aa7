using Carter;
using JobTrail.BuildingBlocks.Paging;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Access.Features.ListApiKeys;

internal sealed class ListApiKeysEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapWorkspaceRoutes().MapGet("/{workspaceId:guid}/api-keys", async (Guid workspaceId, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListApiKeysQuery(workspaceId, limit, cursor), ct)))
            .WithName("ListApiKeys").WithSummary("List a workspace's API keys (never their secrets).")
            .Produces<Page<ApiKeyResponse>>().ProducesProblem(StatusCodes.Status403Forbidden);
}
