using System.Diagnostics;
using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Observability;
using MediatR;
using Microsoft.Extensions.Logging;

namespace JobTrail.BuildingBlocks.Behaviors;

/// <summary>Outermost: how long each request took and how it ended, as a span, a log line and a metric.</summary>
public sealed class LoggingBehavior<TRequest, TResponse>(ILogger<LoggingBehavior<TRequest, TResponse>> logger)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "ok";
        using var span = Telemetry.Source.StartActivity(RequestTraits<TRequest>.Name);
        span?.SetTag("jobtrail.request", RequestTraits<TRequest>.Name);
        try
        {
            return await next();
        }
        catch (Exception ex)
        {
            outcome = ex is ProblemException or FluentValidation.ValidationException ? "refused" : "error";
            span?.SetStatus(outcome == "error" ? ActivityStatusCode.Error : ActivityStatusCode.Unset, ex.GetType().Name);
            throw;
        }
        finally
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            span?.SetTag("jobtrail.outcome", outcome);
            PipelineMetrics.Duration.Record(elapsed.TotalMilliseconds,
                new KeyValuePair<string, object?>("request", RequestTraits<TRequest>.Name),
                new KeyValuePair<string, object?>("outcome", outcome));
            if (RequestTraits<TRequest>.IsEmit)
            {
                PipelineMetrics.EmitDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("outcome", outcome));
            }

            if (logger.IsEnabled(LogLevel.Debug))
            {
                logger.LogDebug("{Request} finished {Outcome} in {ElapsedMs:0.0} ms", RequestTraits<TRequest>.Name, outcome, elapsed.TotalMilliseconds);
            }
        }
    }
}

public static class PipelineMetrics
{
    public const string MeterName = "JobTrail";
    private static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<double> Duration =
        Meter.CreateHistogram<double>("jobtrail.request.duration", unit: "ms", description: "Mediator request duration");

    /// <summary>A runner's emit (one event or a batch), validation to commit: <c>jobtrail_emit_duration_seconds</c>.</summary>
    public static readonly Histogram<double> EmitDuration = Meter.CreateHistogram(
        "jobtrail.emit.duration", unit: "s", description: "Duration of an emit request, validation to commit",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Telemetry.LatencyBuckets });
}
