using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.Access.Features.CreateApiKey;
using JobTrail.Modules.Access.Features.CreateWorkspace;
using JobTrail.Modules.Access.Features.ListApiKeys;
using JobTrail.Modules.Access.Features.RevokeApiKey;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Access;

internal sealed class AccessEndpoints : IEndpointModule
{
    public void MapEndpoints(IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/workspaces").WithTags("Access");

        group.MapPost("/", async (CreateWorkspaceBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Created((string?)null, await mediator.Send(new CreateWorkspaceCommand(body.Slug, body.Name), ct)))
            .WithName("CreateWorkspace").WithSummary("Create a workspace (system scope).")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status409Conflict);

        group.MapPost("/{workspaceId:guid}/api-keys", async (Guid workspaceId, CreateApiKeyBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Created((string?)null, await mediator.Send(new CreateApiKeyCommand(workspaceId, body.Name, body.ActorId, body.Scopes), ct)))
            .WithName("CreateApiKey").WithSummary("Create an API key; the plaintext key is shown only in this response.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{workspaceId:guid}/api-keys", async (Guid workspaceId, int? limit, string? cursor, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new ListApiKeysQuery(workspaceId, limit, cursor), ct)))
            .WithName("ListApiKeys").WithSummary("List a workspace's API keys (never their secrets).")
            .Produces<Page<ApiKeyResponse>>().ProducesProblem(StatusCodes.Status403Forbidden);

        group.MapDelete("/{workspaceId:guid}/api-keys/{keyId:guid}", async (Guid workspaceId, Guid keyId, IMediator mediator, CancellationToken ct) =>
            {
                await mediator.Send(new RevokeApiKeyCommand(workspaceId, keyId), ct);
                return TypedResults.NoContent();
            })
            .WithName("RevokeApiKey").WithSummary("Revoke an API key; it is refused from its next request on.")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
    }
}
