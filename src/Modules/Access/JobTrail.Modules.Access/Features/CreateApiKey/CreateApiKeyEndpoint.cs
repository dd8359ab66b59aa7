using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Access.Features.CreateApiKey;

internal sealed class CreateApiKeyEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapWorkspaceRoutes().MapPost("/{workspaceId:guid}/api-keys", async (Guid workspaceId, CreateApiKeyBody body, IMediator mediator, CancellationToken ct) =>
                TypedResults.Created((string?)null, await mediator.Send(new CreateApiKeyCommand(workspaceId, body.Name, body.ActorId, body.Scopes), ct)))
            .WithName("CreateApiKey").WithSummary("Create an API key; the plaintext key is shown only in this response.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
}
