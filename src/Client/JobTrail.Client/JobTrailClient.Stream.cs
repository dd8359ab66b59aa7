using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace JobTrail.Client;

public sealed partial class JobTrailClient
{
    private const int MaxReconnectsWithoutProgress = 30;

    /// <summary>
    /// The job's events after <paramref name="afterSeq"/> (from seq 1 when null), then live ones, over
    /// Server-Sent Events. A dropped connection is reopened with <c>Last-Event-ID</c> = the last seq
    /// seen, so nothing is skipped or repeated. Completes after the job's terminal event
    /// (job.completed, job.failed or job.cancelled). API errors (404, 403...) throw
    /// <see cref="JobTrailApiException"/>; after 30 reconnects in a row without an event it gives up
    /// with the last connection error.
    /// </summary>
    public async IAsyncEnumerable<JobEvent> StreamEventsAsync(Guid jobId, long? afterSeq = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var last = afterSeq;
        var attemptsWithoutProgress = 0;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var received = 0;
            Exception? dropped = null;
            HttpResponseMessage? response = null;
            StreamReader? reader = null;
            try
            {
                try
                {
                    response = await OpenStreamAsync(jobId, last, cancellationToken);
                    reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
                }
                catch (Exception ex) when (IsDrop(ex, cancellationToken))
                {
                    dropped = ex;
                }

                while (reader is not null)
                {
                    JobEvent? next;
                    try
                    {
                        next = await ReadEventAsync(reader, cancellationToken);
                    }
                    catch (Exception ex) when (IsDrop(ex, cancellationToken))
                    {
                        dropped = ex;
                        break;
                    }

                    if (next is null)
                    {
                        break;
                    }

                    if (last is { } seen && next.Seq <= seen)
                    {
                        continue;
                    }

                    last = next.Seq;
                    received++;
                    yield return next;
                    if (next.IsTerminal)
                    {
                        yield break;
                    }
                }
            }
            finally
            {
                reader?.Dispose();
                response?.Dispose();
            }

            if (received > 0)
            {
                attemptsWithoutProgress = 0;
                delay = TimeSpan.FromMilliseconds(250);
            }
            else if (dropped is null && (await GetJobAsync(jobId, cancellationToken)).Status is JobStatus.Completed or JobStatus.Failed or JobStatus.Cancelled)
            {
                // The server ended a stream of a finished job whose terminal event lies at or before afterSeq.
                yield break;
            }
            else if (++attemptsWithoutProgress >= MaxReconnectsWithoutProgress)
            {
                throw dropped ?? new IOException($"The event stream of job {jobId} kept ending without events.");
            }

            await Task.Delay(delay * (0.5 + (Random.Shared.NextDouble() / 2)), cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
        }
    }

    private async Task<HttpResponseMessage> OpenStreamAsync(Guid jobId, long? last, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/runner-jobs/{jobId}/events/stream");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        if (last is { } seq)
        {
            request.Headers.Add("Last-Event-ID", seq.ToString(CultureInfo.InvariantCulture));
        }

        var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        try
        {
            await EnsureSuccessAsync(response, cancellationToken);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>The next event of the stream, or null at its end; comments (pings) and ids are skipped, the seq is in the data.</summary>
    internal static async Task<JobEvent?> ReadEventAsync(TextReader reader, CancellationToken cancellationToken)
    {
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    return JsonSerializer.Deserialize<JobEvent>(data.ToString(), JobTrailJson.Options);
                }

                continue;
            }

            if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                var value = line.AsSpan(5);
                if (data.Length > 0)
                {
                    data.Append('\n');
                }

                data.Append(value.StartsWith(" ") ? value[1..] : value);
            }
        }

        return null;
    }

    private static bool IsDrop(Exception ex, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested
        && (ex is HttpRequestException or IOException or Polly.Timeout.TimeoutRejectedException
            || (ex is JobTrailApiException api && (api.IsServiceUnavailable || api.IsTooManyRequests)));
}
