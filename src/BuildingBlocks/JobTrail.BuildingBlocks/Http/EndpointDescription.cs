using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace JobTrail.BuildingBlocks.Http;

public static class EndpointDescription
{
    /// <summary>
    /// The operation id, summary and problem statuses of an endpoint, in the order they are documented.
    /// </summary>
    public static RouteHandlerBuilder Describe(this RouteHandlerBuilder builder, string name, string summary, params int[] problems)
    {
        builder.WithName(name).WithSummary(summary);
        foreach (var status in problems)
        {
            builder.ProducesProblem(status);
        }

        return builder;
    }
}
