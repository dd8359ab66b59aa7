using System.Globalization;
using System.Threading.RateLimiting;
using JobTrail.BuildingBlocks.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;

namespace JobTrail.Host;

/// <summary>
/// A token bucket per API key (per client IP before authentication): <c>JobTrail:RateLimit:PerSecond</c>
/// tokens a second (default 200) up to <c>JobTrail:RateLimit:Burst</c> (default 400). Past that: 429
/// with <c>Retry-After</c>. Buckets live in this instance; several instances each allow the rate.
/// </summary>
internal static class RateLimiting
{
    public static IServiceCollection AddJobTrailRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        var perSecond = configuration.GetValue("JobTrail:RateLimit:PerSecond", 200);
        var burst = configuration.GetValue("JobTrail:RateLimit:Burst", 400);
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var context = http.RequestServices.GetRequiredService<RequestContext>();
                var partition = context.ApiKeyId is { } key ? "key:" + key.ToString("N") : "ip:" + (context.IpAddress ?? "unknown");
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = burst,
                    TokensPerPeriod = perSecond,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            options.OnRejected = async (rejected, cancellationToken) =>
            {
                var http = rejected.HttpContext;
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Detail = $"Too many requests for this API key; retry after {seconds} s.",
                        Extensions = { ["code"] = "rate_limited" },
                    },
                });
            };
        });
        return services;
    }
}
