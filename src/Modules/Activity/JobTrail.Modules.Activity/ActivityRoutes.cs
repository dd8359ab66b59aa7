namespace JobTrail.Modules.Activity;

/// <summary>The route group every Activity endpoint maps into, so its prefix and tag are stated once.</summary>
internal static class ActivityRoutes
{
    public static RouteGroupBuilder MapActivityRoutes(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api/activity").WithTags("Activity");
}
