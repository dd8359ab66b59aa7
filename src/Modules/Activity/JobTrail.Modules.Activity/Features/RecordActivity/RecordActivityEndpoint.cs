using Carter;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Activity.Features.RecordActivity;

internal sealed class RecordActivityEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapPost("/", async (RecordActivityCommand command, IMediator mediator, CancellationToken ct) =>
            {
                var recorded = await mediator.Send(command, ct);
                return TypedResults.Created($"/api/activity/{recorded.Id}", recorded);
            })
            .WithName("RecordActivity").WithSummary("Record an activity from an outside source, e.g. an identity provider's auth.login.")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);
}
