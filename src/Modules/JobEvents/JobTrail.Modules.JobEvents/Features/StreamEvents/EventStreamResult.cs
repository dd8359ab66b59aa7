using System.Diagnostics;
using JobTrail.BuildingBlocks.Observability;
using JobTrail.BuildingBlocks.Streaming;
using Microsoft.AspNetCore.Http;

namespace JobTrail.Modules.JobEvents.Features.StreamEvents;

/// <summary>
/// Writes a <see cref="JobEventStream"/> as <c>text/event-stream</c>: <c>id: seq</c>, <c>event: type</c>,
/// <c>data: event JSON</c>, and <c>: ping</c> comments. Written by hand because .NET's SSE result has no
/// way to send comments, which the heartbeat needs.
/// </summary>
internal sealed class EventStreamResult(JobEventStream stream) : IResult
{
    public async Task ExecuteAsync(HttpContext http)
    {
        var logger = http.RequestServices.GetRequiredService<ILogger<EventStreamResult>>();
        using var ended = ServerSentEvents.Open(http);
        var token = ended.Token;
        var response = http.Response;

        await using (stream)
        {
            JobEventMetrics.SseConnections.Add(1);
            try
            {
                await ServerSentEvents.WriteRetryAsync(response, stream.Retry, token);
                await foreach (var frame in stream.ReadAsync(token))
                {
                    if (frame.Event is { } live)
                    {
                        // The frame's span continues the emit's trace when the event carried it here.
                        using var span = Telemetry.Source.StartActivity(
                            "sse.deliver", ActivityKind.Producer, Telemetry.ParseTraceParent(live.TraceParent));
                        await response.Body.WriteAsync(live.Frame, token);
                        await response.Body.FlushAsync(token);
                        if (live.RecordedAt is { } recordedAt)
                        {
                            JobEventMetrics.SseDeliveryLatency.Record(Math.Max(0, (DateTime.UtcNow - recordedAt).TotalSeconds));
                        }

                        continue;
                    }

                    await response.Body.WriteAsync(ServerSentEvents.PingBytes, token);
                    await response.Body.FlushAsync(token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // The client went away, or the service is stopping (the client resumes elsewhere).
            }
            catch (ClientTooSlowException)
            {
                logger.LogInformation("Closed an event stream whose client fell behind; it resumes with Last-Event-ID");
            }
            catch (Exception ex)
            {
                // Headers are sent: the only way to report anything is to end the stream; the client resumes.
                logger.LogWarning(ex, "Ended an event stream early");
            }
            finally
            {
                JobEventMetrics.SseConnections.Add(-1);
            }
        }
    }
}
