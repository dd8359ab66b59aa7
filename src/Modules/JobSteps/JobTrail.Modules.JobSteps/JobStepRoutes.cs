namespace JobTrail.Modules.JobSteps;

/// <summary>The route group every JobSteps endpoint maps into, so its prefix and tag are stated once.</summary>
internal static class JobStepRoutes
{
    public static RouteGroupBuilder MapJobStepRoutes(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api/runner-jobs/{jobId:guid}/steps").WithTags("Job steps");
}
