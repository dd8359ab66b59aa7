using Carter;
using JobTrail.BuildingBlocks.Integrity;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.Activity.Features.VerifyActivityChain;

internal sealed class VerifyActivityChainEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/verify", async (long? fromSeq, long? toSeq, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new VerifyActivityChainQuery(fromSeq, toSeq), ct)))
            .WithName("VerifyActivityChain")
            .WithSummary("Recompute the workspace's activity chain over [fromSeq, toSeq]: {valid, checked, firstBadSeq, reason: hash_mismatch | gap | broken_link}.")
            .Produces<ChainVerification>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
}
