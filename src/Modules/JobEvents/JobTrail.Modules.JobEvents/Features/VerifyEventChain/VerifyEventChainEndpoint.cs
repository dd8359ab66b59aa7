using Carter;
using JobTrail.BuildingBlocks.Integrity;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace JobTrail.Modules.JobEvents.Features.VerifyEventChain;

internal sealed class VerifyEventChainEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/verify", async (Guid jobId, IMediator mediator, CancellationToken ct) =>
                TypedResults.Ok(await mediator.Send(new VerifyEventChainQuery(jobId), ct)))
            .WithName("VerifyEventChain")
            .WithSummary("Recompute the job's hash chain: {valid, checked, firstBadSeq, reason: hash_mismatch | gap | broken_link | head_behind_chain}, with the last good link to export.")
            .Produces<ChainVerification>().ProducesProblem(StatusCodes.Status404NotFound);
}
