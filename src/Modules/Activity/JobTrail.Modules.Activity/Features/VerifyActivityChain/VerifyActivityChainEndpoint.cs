namespace JobTrail.Modules.Activity.Features.VerifyActivityChain;

internal sealed class VerifyActivityChainEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/verify", (long? fromSeq, long? toSeq) => Send.Ok(new VerifyActivityChainQuery(fromSeq, toSeq)))
            .Describe("VerifyActivityChain",
                "Recompute the workspace's activity chain over [fromSeq, toSeq]: {valid, checked, firstBadSeq, reason: hash_mismatch | gap | broken_link}.",
                StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden);
}
