using System.Diagnostics;

namespace JobTrail.Benchmarks.Load;

/// <summary>What a closed-loop run measured (warm-up excluded).</summary>
internal sealed record LoadResult(
    string Name,
    int Workers,
    long Succeeded,
    long Failed,
    TimeSpan Measured,
    LatencySummary Latency,
    IReadOnlyDictionary<int, long> Statuses,
    string? FirstError,
    IReadOnlyList<LatencySummary> Buckets)
{
    public double PerSecond => Succeeded / Measured.TotalSeconds;

    public string DescribeFailures() =>
        Failed == 0 ? "no failures" : $"{Failed} failed ({string.Join(", ", Statuses.Where(s => s.Key is < 200 or >= 300).Select(s => $"{(s.Key == 0 ? "error" : s.Key.ToString(System.Globalization.CultureInfo.InvariantCulture))}: {s.Value}"))}); first: {FirstError}";
}

/// <summary>
/// N workers, each sending its next request as soon as the previous one answered, for a warm-up
/// (not recorded) and then a measured period. Bounded in time (warm-up + duration + the last
/// requests' time-out) and in count (<see cref="MaxOperationsPerWorker"/>).
/// </summary>
internal static class ClosedLoop
{
    public const long MaxOperationsPerWorker = 5_000_000;

    /// <param name="send">(worker, iteration, cancellation) → HTTP status, or throws.</param>
    public static async Task<LoadResult> RunAsync(
        string name, int workers, TimeSpan warmup, TimeSpan duration, Func<int, long, CancellationToken, Task<int>> send, CancellationToken cancellationToken,
        int buckets = 1, Func<int, long, int>? bucketOf = null)
    {
        using var hardStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        hardStop.CancelAfter(warmup + duration + TimeSpan.FromSeconds(60));
        var started = Stopwatch.GetTimestamp();
        var measureFrom = started + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var until = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var results = await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkerAsync(w), hardStop.Token)));

        var latencies = results.SelectMany(r => r.Latencies.SelectMany(l => l));
        var statuses = new Dictionary<int, long>();
        foreach (var (status, count) in results.SelectMany(r => r.Statuses))
        {
            statuses[status] = statuses.GetValueOrDefault(status) + count;
        }

        var lastEnd = results.Max(r => r.LastEnd);
        var measured = Stopwatch.GetElapsedTime(measureFrom, Math.Max(lastEnd, until));
        return new LoadResult(
            name, workers, results.Sum(r => r.Succeeded), results.Sum(r => r.Failed), measured, LatencySummary.Of(latencies), statuses,
            results.Select(r => r.FirstError).FirstOrDefault(e => e is not null),
            Enumerable.Range(0, buckets).Select(b => LatencySummary.Of(results.SelectMany(r => r.Latencies[b]))).ToList());

        async Task<WorkerResult> WorkerAsync(int worker)
        {
            var result = new WorkerResult(buckets);
            for (long i = 0; i < MaxOperationsPerWorker; i++)
            {
                var t0 = Stopwatch.GetTimestamp();
                if (t0 >= until)
                {
                    break;
                }

                int status;
                try
                {
                    status = await send(worker, i, hardStop.Token);
                }
                catch (OperationCanceledException) when (hardStop.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception ex) when (ex is HttpRequestException or IOException or TimeoutException or OperationCanceledException or InvalidOperationException)
                {
                    status = 0;
                    result.FirstError ??= ex.GetType().Name + ": " + ex.Message;
                }

                var t1 = Stopwatch.GetTimestamp();
                if (t0 < measureFrom)
                {
                    continue;
                }

                result.LastEnd = t1;
                result.Statuses[status] = result.Statuses.GetValueOrDefault(status) + 1;
                if (status is >= 200 and < 300)
                {
                    result.Succeeded++;
                    result.Latencies[bucketOf?.Invoke(worker, i) ?? 0].Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                }
                else
                {
                    result.Failed++;
                    result.FirstError ??= $"HTTP {status}";
                }
            }

            return result;
        }
    }

    private sealed class WorkerResult(int buckets)
    {
        public List<double>[] Latencies { get; } = Enumerable.Range(0, buckets).Select(_ => new List<double>(1 << 14)).ToArray();

        public Dictionary<int, long> Statuses { get; } = [];

        public long Succeeded { get; set; }

        public long Failed { get; set; }

        public long LastEnd { get; set; }

        public string? FirstError { get; set; }
    }
}
