using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text.Json;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>One frame as a client sees it on the wire.</summary>
public sealed record SseFrame(long? Id, string? Event, string? Data, bool IsComment, string? Retry)
{
    public JsonElement Json => JsonDocument.Parse(Data!).RootElement.Clone();
}

/// <summary>
/// A minimal Server-Sent Events reader over HttpClient: collects frames in the background until the
/// server ends the stream (or the client is disposed).
/// </summary>
public sealed class SseClient : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task pump;

    private SseClient(HttpResponseMessage response)
    {
        Response = response;
        pump = Task.Run(() => PumpAsync(response, stop.Token));
    }

    public HttpResponseMessage Response { get; }

    public ConcurrentQueue<SseFrame> Frames { get; } = new();

    public bool Ended => pump.IsCompleted;

    public IReadOnlyList<SseFrame> Events => Frames.Where(f => f.Event is not null).ToList();

    public static async Task<SseClient> OpenAsync(HttpClient client, string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        return new SseClient(response);
    }

    /// <summary>Waits until the server ends the stream.</summary>
    public async Task WaitForEndAsync(TimeSpan timeout)
    {
        var finished = await Task.WhenAny(pump, Task.Delay(timeout));
        Assert.True(finished == pump, $"The stream did not end within {timeout}; {Events.Count} events received, last {Events.LastOrDefault()?.Id}.");
        await pump;
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        try
        {
            await pump;
        }
        catch (OperationCanceledException)
        {
            // Closed by us.
        }

        Response.Dispose();
        stop.Dispose();
    }

    private async Task PumpAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(body);
        long? id = null;
        string? type = null, data = null, retry = null;
        var comment = false;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (id is not null || type is not null || data is not null || comment || retry is not null)
                {
                    Frames.Enqueue(new SseFrame(id, type, data, comment, retry));
                }

                (id, type, data, retry, comment) = (null, null, null, null, false);
                continue;
            }

            if (line.StartsWith(':'))
            {
                comment = true;
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = long.Parse(line[4..], System.Globalization.CultureInfo.InvariantCulture);
            }
            else if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                type = line[7..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
            else if (line.StartsWith("retry: ", StringComparison.Ordinal))
            {
                retry = line[7..];
            }
        }
    }
}
