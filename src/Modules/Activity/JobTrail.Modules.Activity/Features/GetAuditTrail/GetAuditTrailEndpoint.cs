namespace JobTrail.Modules.Activity.Features.GetAuditTrail;

internal sealed class GetAuditTrailEndpoint : ICarterModule
{
    public void AddRoutes(IEndpointRouteBuilder app) =>
        app.MapActivityRoutes().MapGet("/audit/{entityType}/{entityId}", (string entityType, string entityId, int? limit, string? cursor) =>
                Send.Ok(new GetAuditTrailQuery(entityType, entityId, limit, cursor)))
            .Describe("GetAuditTrail", "One entity's whole history, oldest first, including refused attempts.",
                StatusCodes.Status400BadRequest, StatusCodes.Status403Forbidden);
}
