namespace JobTrail.Modules.Access;

/// <summary>The route group every Access endpoint maps into, so its prefix and tag are stated once.</summary>
internal static class AccessRoutes
{
    public static RouteGroupBuilder MapWorkspaceRoutes(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api/workspaces").WithTags("Access");
}
