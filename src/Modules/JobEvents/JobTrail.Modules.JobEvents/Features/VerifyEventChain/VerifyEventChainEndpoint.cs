namespace JobTrail.Modules.JobEvents.Features.VerifyEventChain;

internal sealed class VerifyEventChainEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapJobEventRoutes().MapGet("/verify", (Guid jobId) => Send.Ok(new VerifyEventChainQuery(jobId)))
            .Describe("VerifyEventChain",
                "Recompute the job's hash chain: {valid, checked, firstBadSeq, reason: hash_mismatch | gap | broken_link | head_behind_chain}, with the last good link to export.",
                StatusCodes.Status404NotFound);
}
