using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Features.EmitEvent;

namespace JobTrail.Modules.JobEvents;

/// <summary>The route group every JobEvents endpoint maps into, so its prefix and tag are stated once.</summary>
internal static class JobEventRoutes
{
    public static RouteGroupBuilder MapJobEventRoutes(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api/runner-jobs/{jobId:guid}/events").WithTags("Job events");

    /// <summary>Set on a response that repeats the first result of an Idempotency-Key instead of writing again.</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";

    /// <summary>Says where a recent-events answer came from: <c>valkey</c> or <c>postgres</c>.</summary>
    public const string SourceHeader = "X-JobTrail-Source";

    /// <summary>The answer to an emit, marked as a replay when it repeats an Idempotency-Key's first result.</summary>
    public static TResult MarkReplay<TResult>(HttpContext http, EmittedEvents emitted, TResult result)
    {
        if (emitted.Replayed)
        {
            http.Response.Headers[ReplayedHeader] = "true";
        }

        return result;
    }
}
