namespace JobTrail.Modules.RunnerJobs;

/// <summary>The route group every RunnerJobs endpoint maps into, so its prefix and tag are stated once.</summary>
internal static class RunnerJobRoutes
{
    public static RouteGroupBuilder MapRunnerJobRoutes(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api/runner-jobs").WithTags("Runner jobs");
}
