using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace JobTrail.BuildingBlocks.Streaming;

/// <summary>One thing a live stream writes: an event (<c>id</c>, <c>event</c>, one line of <c>data</c>), or a heartbeat.</summary>
public sealed record SseFrame(string? Id, string? Event, string? Data)
{
    /// <summary>A <c>: ping</c> comment: keeps idle connections (and proxies) open.</summary>
    public static readonly SseFrame Ping = new(null, null, null);

    public bool IsPing => Data is null;
}

/// <summary>
/// Writes frames as <c>text/event-stream</c>, flushing each, until the frames end, the client goes away
/// or the service stops. <paramref name="owner"/> (the stream's slot and subscriptions) is disposed at
/// the end. By hand because .NET's SSE result cannot send comments, which the heartbeat needs.
/// </summary>
/// <summary>What every live stream does first and between frames, whichever module writes it.</summary>
public static class ServerSentEvents
{
    /// <summary>A <c>: ping</c> comment: keeps idle connections (and proxies) open.</summary>
    public static ReadOnlyMemory<byte> PingBytes { get; } = Encoding.UTF8.GetBytes(": ping\n\n");

    /// <summary>
    /// Makes the response an unbuffered <c>text/event-stream</c> and returns what ends it: the client going
    /// away or the service stopping (the client then resumes elsewhere with Last-Event-ID).
    /// </summary>
    public static CancellationTokenSource Open(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        var stopping = http.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var ended = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, stopping);
        var response = http.Response;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        return ended;
    }

    /// <summary>The reconnection delay the client should use, sent before the first frame.</summary>
    public static async Task WriteRetryAsync(HttpResponse response, TimeSpan retry, CancellationToken token)
    {
        ArgumentNullException.ThrowIfNull(response);
        await response.WriteAsync($"retry: {(long)retry.TotalMilliseconds}\n\n", token);
        await response.Body.FlushAsync(token);
    }
}

public sealed class ServerSentEventsResult(IAsyncEnumerable<SseFrame> frames, TimeSpan retry, IAsyncDisposable owner) : IResult
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var logger = httpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger<ServerSentEventsResult>();
        using var ended = ServerSentEvents.Open(httpContext);
        var token = ended.Token;
        var response = httpContext.Response;

        await using (owner)
        {
            try
            {
                await ServerSentEvents.WriteRetryAsync(response, retry, token);
                await foreach (var frame in frames.WithCancellation(token))
                {
                    if (frame.IsPing)
                    {
                        await response.Body.WriteAsync(ServerSentEvents.PingBytes, token);
                    }
                    else
                    {
                        await response.WriteAsync(Format(frame), token);
                    }

                    await response.Body.FlushAsync(token);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                // The client went away, or the service is stopping (the client resumes elsewhere).
            }
            catch (Exception ex)
            {
                // Headers are sent: the only way to report anything is to end the stream; the client resumes.
                logger.LogWarning(ex, "Ended a live stream early");
            }
        }
    }

    /// <summary>Data is one line of JSON; a line break in it would end the field, so it is refused.</summary>
    internal static string Format(SseFrame frame)
    {
        if (frame.Data!.Contains('\n', StringComparison.Ordinal) || frame.Data.Contains('\r', StringComparison.Ordinal))
        {
            throw new InvalidOperationException("Server-sent event data must be a single line.");
        }

        var text = new StringBuilder();
        if (frame.Id is not null)
        {
            text.Append("id: ").Append(frame.Id).Append('\n');
        }

        if (frame.Event is not null)
        {
            text.Append("event: ").Append(frame.Event).Append('\n');
        }

        return text.Append("data: ").Append(frame.Data).Append("\n\n").ToString();
    }
}
