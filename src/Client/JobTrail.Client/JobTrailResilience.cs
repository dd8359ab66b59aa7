using System.Net;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace JobTrail.Client;

/// <summary>
/// When a request is tried again. 429 is always retried (the rate limiter refused it before any work).
/// 503 and failures of an established connection are retried only for requests that cannot write
/// twice: GET/HEAD/DELETE and requests carrying an Idempotency-Key. A connection that could not be
/// opened at all never reached the server, so that is retried for every request.
/// </summary>
internal static class JobTrailResilience
{
    public const string IdempotencyKeyHeader = "Idempotency-Key";

    public static void Configure(ResiliencePipelineBuilder<HttpResponseMessage> builder, JobTrailClientOptions options)
    {
        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = options.TotalRequestTimeout });
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome, options.MaxRetryDelay)),
            });
        }
    }

    public static ResiliencePipeline<HttpResponseMessage> Build(JobTrailClientOptions options)
    {
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        Configure(builder, options);
        return builder.Build();
    }

    private static bool ShouldRetry(Outcome<HttpResponseMessage> outcome, ResilienceContext context)
    {
        var request = context.GetRequestMessage();
        var safe = request is not null && (request.Method == HttpMethod.Get || request.Method == HttpMethod.Head
            || request.Method == HttpMethod.Delete || request.Headers.Contains(IdempotencyKeyHeader));
        return outcome switch
        {
            { Result.StatusCode: HttpStatusCode.TooManyRequests } => true,
            { Result.StatusCode: HttpStatusCode.ServiceUnavailable } => safe,
            { Exception: HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } } => true,
            { Exception: HttpRequestException or TimeoutRejectedException } => safe,
            _ => false,
        };
    }

    /// <summary>The server's Retry-After when it sent one (capped); null lets the jittered back-off decide.</summary>
    private static TimeSpan? RetryAfter(Outcome<HttpResponseMessage> outcome, TimeSpan max) =>
        outcome.Result is { } response && JobTrailApiException.RetryAfterOf(response) is { } wait
            ? (wait > max ? max : wait)
            : null;
}
