using System.Diagnostics;
using JobTrail.BuildingBlocks.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks.Errors;

public static class ProblemDetailsSetup
{
    /// <summary>problem+json everywhere, each carrying <c>traceId</c> and <c>correlationId</c>.</summary>
    public static IServiceCollection AddJobTrailProblemDetails(this IServiceCollection services)
    {
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddProblemDetails(options => options.CustomizeProblemDetails = ctx =>
        {
            var http = ctx.HttpContext;
            ctx.ProblemDetails.Instance ??= http.Request.Path;
            ctx.ProblemDetails.Extensions["traceId"] = Activity.Current?.Id ?? http.TraceIdentifier;
            ctx.ProblemDetails.Extensions["correlationId"] = http.RequestServices.GetRequiredService<RequestContext>().CorrelationId;
            if (!ctx.ProblemDetails.Extensions.ContainsKey("code"))
            {
                ctx.ProblemDetails.Extensions["code"] = ctx.ProblemDetails.Status switch
                {
                    StatusCodes.Status401Unauthorized => "unauthorized",
                    StatusCodes.Status403Forbidden => "forbidden",
                    StatusCodes.Status404NotFound => "not_found",
                    StatusCodes.Status405MethodNotAllowed => "method_not_allowed",
                    StatusCodes.Status413PayloadTooLarge => "payload_too_large",
                    StatusCodes.Status415UnsupportedMediaType => "unsupported_media_type",
                    _ => "error",
                };
            }

            if (ctx.ProblemDetails.Detail is null && ctx.ProblemDetails.Status == StatusCodes.Status404NotFound)
            {
                ctx.ProblemDetails.Detail = "No resource exists at this address.";
            }
        });
        return services;
    }
}
