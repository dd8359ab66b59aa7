using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;
using JobTrail.Benchmarks.Reporting;

namespace JobTrail.Benchmarks.Scenarios;

internal sealed record SseSettings(IReadOnlyList<int> Rates, int Subscribers, int Jobs, int Emitters);

/// <summary>
/// `sse`: emitters send step.output events at a fixed total rate, spread over the jobs, while
/// subscribers follow those jobs over Server-Sent Events. For every delivered event the subscriber
/// takes the time it read the frame minus the event's <c>recordedAt</c> (set by the API when it handles
/// the request, before the request queues for the group writer; same machine, same clock), and minus the
/// client's send time carried in the payload.
/// Each rate in <see cref="SseSettings.Rates"/> is run in turn on the same server and streams.
/// Budget (DESIGN §8): p50 ≤ 5 ms, p99 ≤ 25 ms at 1,000 events/s with 100 subscribers.
/// </summary>
internal static class SseScenario
{
    private const int BudgetRate = 1000;

    public static async Task<ScenarioReport> RunAsync(BenchContext context, SseSettings settings, CancellationToken cancellationToken)
    {
        var rates = string.Join(',', settings.Rates);
        var report = new ScenarioReport(
            $"sse: emit → SSE delivery, {settings.Subscribers} subscribers on {settings.Jobs} jobs{(context.Options.Instances > 1 ? $" over {context.Options.Instances} instances" : string.Empty)}, at {string.Join(" then ", settings.Rates)} events/s",
            context.Command("sse", $"--rate {rates} --subscribers {settings.Subscribers} --jobs {settings.Jobs} --emitters {settings.Emitters}"));
        await using var database = await BenchDatabase.CreateAsync(context.Environment, cancellationToken);
        // Every subscriber streams with the one benchmark key: the per-key share of the workspace's streams
        // (half by default) would refuse half of them.
        var serverSettings = new Dictionary<string, string>
        {
            ["JobTrail__Events__Stream__MaxShareOfWorkspacePerKey"] = "1",
        };
        if (settings.Subscribers > 100)
        {
            serverSettings["JobTrail__Events__Stream__MaxStreamsPerWorkspace"] = settings.Subscribers.ToString(CultureInfo.InvariantCulture);
        }

        var servers = await context.StartServersAsync(database, ServerSpec.Host(serverSettings), cancellationToken);
        var apis = servers.Select(s => new ApiClient(s.BaseAddress, servers[0].ApiKey)).ToArray();
        var streams = servers.Select(s => new ApiClient(s.BaseAddress, servers[0].ApiKey, Timeout.InfiniteTimeSpan)).ToArray();
        try
        {
            await RunOnServersAsync(context, settings, report, servers, apis, streams, cancellationToken);
        }
        finally
        {
            foreach (var client in apis.Concat(streams))
            {
                client.Dispose();
            }

            await BenchContext.StopServersAsync(servers);
        }

        return report;
    }

    private static async Task RunOnServersAsync(
        BenchContext context, SseSettings settings, ScenarioReport report, ApiServer[] servers, ApiClient[] apis, ApiClient[] streams, CancellationToken cancellationToken)
    {
        var api = apis[0];
        var jobs = new Guid[settings.Jobs];
        for (var i = 0; i < jobs.Length; i++)
        {
            (jobs[i], _) = await api.CreateJobAsync($"sse-{i}", cancellationToken);
        }

        var followers = new int[jobs.Length];
        for (var k = 0; k < settings.Subscribers; k++)
        {
            followers[k % jobs.Length]++;
        }

        var state = new DeliveryState(settings.Subscribers);
        using var stopStreams = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Bounded: the streams end when the run is over, and no later than this.
        stopStreams.CancelAfter(((context.Warmup + context.Duration) * settings.Rates.Count) + TimeSpan.FromSeconds(180));
        var subscriberTasks = Enumerable.Range(0, settings.Subscribers)
            .Select(k => Task.Run(() => SubscribeAsync(streams[k % streams.Length], jobs[k % jobs.Length], state, stopStreams.Token), CancellationToken.None))
            .ToList();
        using (var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            connectTimeout.CancelAfter(TimeSpan.FromSeconds(60));
            await state.AllConnected.Task.WaitAsync(connectTimeout.Token);
        }

        report.Setup.Add($"API: JobTrail.Host.dll on a fresh database (relay and Valkey Pub/Sub on); {settings.Jobs} jobs, {settings.Subscribers} subscribers " +
                         $"(subscriber k follows job k mod {settings.Jobs}), each an HTTP/1.1 `GET …/events/stream` held open for the whole run.");
        report.Setup.Add($"{settings.Emitters} emitters send `POST …/events` on a fixed schedule totalling the target rate, round-robin over the jobs " +
                         "(open loop: an emitter that falls behind sends its next event at once, so a rate the machine cannot carry shows as a lower achieved rate).");
        report.Setup.Add("baseline: none that pgbench can give (PostgreSQL has no push to HTTP clients); the budget is absolute.");
        foreach (var rate in settings.Rates)
        {
            await RunRateAsync(context, settings, rate, servers, apis, jobs, followers, state, report, cancellationToken);
        }

        await stopStreams.CancelAsync();
        await Task.WhenAll(subscriberTasks);
        if (state.StreamErrors > 0)
        {
            report.Notes.Add($"{state.StreamErrors} streams failed: {state.FirstError}");
        }

        report.Notes.Add("`recordedAt` is taken by the API when it handles the emit, before the request queues for the group writer, so recordedAt → received covers " +
                         "the wait for the group in flight, the group's commit, the hand-off to the streams of the instance that wrote it (ADR 0044; with " +
                         "JobTrail__Events__Stream__LocalDelivery=false, or on another instance: the relay's claim/read/XADD+PUBLISH/delete transaction and " +
                         "Pub/Sub), and the SSE write; send → received adds the client's HTTP request to that.");
        if (servers.Length > 1)
        {
            report.Setup.Add($"{servers.Length} API instances on the one database (each with its relay): subscriber k streams from instance k mod {servers.Length}, " +
                             $"emitter e posts to instance e mod {servers.Length}; the API's CPU and RSS are the sum over the instances.");
        }
    }

    private static async Task RunRateAsync(
        BenchContext context, SseSettings settings, int rate, ApiServer[] servers, ApiClient[] apis, Guid[] jobs, int[] followers, DeliveryState state,
        ScenarioReport report, CancellationToken cancellationToken)
    {
        var run = Guid.NewGuid().ToString("N")[..8];
        var collector = state.Collectors.GetOrAdd(run, _ => new Collector());
        Console.Error.WriteLine($"[bench] sse at {rate}/s: {settings.Subscribers} subscribers, {settings.Emitters} emitters, {context.Options.Warmup} s warm-up + {context.Options.Seconds} s");

        using var rss = new RssSampler(servers);
        var emitLatencies = new ConcurrentBag<double[]>();
        var expected = 0L;
        var emitted = 0L;
        var failed = 0L;
        var interval = (double)settings.Emitters / rate;
        var started = Stopwatch.GetTimestamp();
        var warmupEnd = context.Warmup.TotalSeconds;
        var end = warmupEnd + context.Duration.TotalSeconds;
        CpuSnapshot? before = null;
        var cpuWindow = Task.Delay(context.Warmup, cancellationToken).ContinueWith(_ => before = ProcStats.Snapshot(), TaskScheduler.Default);
        var emitters = Enumerable.Range(0, settings.Emitters).Select(e => Task.Run(async () =>
        {
            var latencies = new List<double>();
            for (long i = 0; i < ClosedLoop.MaxOperationsPerWorker; i++)
            {
                var due = (i * interval) + ((double)e / rate);
                if (due >= end)
                {
                    break;
                }

                var wait = due - Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (wait > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(wait), cancellationToken);
                }

                var measured = due >= warmupEnd;
                var jobIndex = (int)((e + (i * settings.Emitters)) % jobs.Length);
                var body = ApiClient.Utf8(
                    $$$"""{"type":"step.output","payload":{"line":"progress {{{i}}}","run":"{{{run}}}","m":{{{(measured ? 1 : 0)}}},"sentAt":{{{DateTime.UtcNow.Ticks}}}}}""");
                var t0 = Stopwatch.GetTimestamp();
                int status;
                try
                {
                    status = await apis[e % apis.Length].PostAsync($"/api/runner-jobs/{jobs[jobIndex]}/events", body, cancellationToken);
                }
                catch (HttpRequestException)
                {
                    status = 0;
                }

                if (!measured)
                {
                    continue;
                }

                if (status is >= 200 and < 300)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    Interlocked.Increment(ref emitted);
                    Interlocked.Add(ref expected, followers[jobIndex]);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                }
            }

            emitLatencies.Add([.. latencies]);
        }, cancellationToken)).ToList();
        await Task.WhenAll(emitters);
        var emitSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds - warmupEnd;
        await cpuWindow;
        var cpu = ProcStats.Between(before ?? ProcStats.Snapshot(), ProcStats.Snapshot(), context.Label);

        // Let the last deliveries arrive (bounded) before the next rate or the end.
        var drain = Stopwatch.StartNew();
        while (Interlocked.Read(ref collector.Delivered) < Interlocked.Read(ref expected) && drain.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50, cancellationToken);
        }

        var delivery = LatencySummary.Of(collector.ServerLatencies);
        var client = LatencySummary.Of(collector.ClientLatencies);
        var emit = LatencySummary.Of(emitLatencies.SelectMany(l => l));
        var achieved = emitted / emitSeconds;
        var rateReached = achieved >= rate * 0.95;
        Console.Error.WriteLine($"[bench]   emitted {achieved:0}/s ({failed} failed), delivered {collector.Delivered}/{expected}; recordedAt→client {delivery.Describe()}; send→client {client.Describe()}");
        Console.Error.WriteLine($"[bench]   CPU: {cpu.Describe()}; API RSS max {rss.MaxMiB:0} MiB");

        var at = $"at {rate}/s";
        var budgeted = rate >= BudgetRate;
        var verdict = !budgeted ? "—"
            : rateReached ? Fmt.Verdict(delivery.P50 <= 5 && delivery.P99 <= 25)
            : $"not met (only {achieved:0}/s reached)";
        report.Rows.Add(new ResultRow($"{at}: achieved emit rate", $"{Fmt.N(achieved)} events/s ({failed} failed)", $"target {rate}/s", Fmt.Ratio(achieved / rate),
            budgeted ? "1,000 events/s" : "—", budgeted ? Fmt.Verdict(rateReached) : "—"));
        report.Rows.Add(new ResultRow($"{at}: recordedAt → received, p50 / p95 / p99", $"{Fmt.Ms(delivery.P50)} / {Fmt.Ms(delivery.P95)} / {Fmt.Ms(delivery.P99)}", "—", "—",
            budgeted ? "p50 ≤ 5 ms, p99 ≤ 25 ms" : "—", verdict));
        report.Rows.Add(new ResultRow($"{at}: client send → received, p50 / p95 / p99", $"{Fmt.Ms(client.P50)} / {Fmt.Ms(client.P95)} / {Fmt.Ms(client.P99)}", "—", "—", "—", "—"));
        report.Rows.Add(new ResultRow($"{at}: emit request latency, p50 / p95 / p99", $"{Fmt.Ms(emit.P50)} / {Fmt.Ms(emit.P95)} / {Fmt.Ms(emit.P99)}", "—", "—", "—", "—"));
        report.Rows.Add(new ResultRow($"{at}: deliveries received / expected", $"{collector.Delivered:N0} / {expected:N0} (slowest {Fmt.N(delivery.Max, "0")} ms)", "—", "—",
            "every event once", Fmt.Verdict(collector.Delivered == expected && state.Duplicates == 0)));
        report.Rows.Add(new ResultRow($"{at}: API RSS max", $"{Fmt.N(rss.MaxMiB)} MiB", "—", "—", "≤ 400 MB", Fmt.Verdict(rss.MaxMiB <= Rows.RssBudgetMiB)));
        report.Rows.Add(new ResultRow($"{at}: CPU, % of one core", Rows.Cpu(cpu, "API", BenchContext.ApiLabel), "—", "—", "—", "—"));
        if (state.Duplicates > 0)
        {
            report.Notes.Add($"{at}: {state.Duplicates} duplicate deliveries so far.");
        }
    }

    private static async Task SubscribeAsync(ApiClient client, Guid job, DeliveryState state, CancellationToken cancellationToken)
    {
        var connected = false;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runner-jobs/{job}/events/stream");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            request.Headers.Authorization = client.Authorization;
            using var response = await client.Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            response.EnsureSuccessStatusCode();
            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var reader = new StreamReader(body);
            var seen = new HashSet<long>();
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }

                var received = DateTime.UtcNow;
                using var json = JsonDocument.Parse(line.AsMemory(5));
                var root = json.RootElement;
                if (!connected)
                {
                    // The backfill's first event (job.created): this stream is live.
                    connected = true;
                    state.Connected();
                }

                if (!seen.Add(root.GetProperty("seq").GetInt64()))
                {
                    Interlocked.Increment(ref state.Duplicates);
                    continue;
                }

                if (!root.TryGetProperty("payload", out var payload) || payload.ValueKind != JsonValueKind.Object ||
                    !payload.TryGetProperty("run", out var run) || run.GetString() is not { } marker ||
                    !state.Collectors.TryGetValue(marker, out var collector) || payload.GetProperty("m").GetInt32() != 1)
                {
                    continue;
                }

                var recordedAt = root.GetProperty("recordedAt").GetDateTime().ToUniversalTime();
                var sentAt = new DateTime(payload.GetProperty("sentAt").GetInt64(), DateTimeKind.Utc);
                collector.ServerLatencies.Add((received - recordedAt).TotalMilliseconds);
                collector.ClientLatencies.Add((received - sentAt).TotalMilliseconds);
                Interlocked.Increment(ref collector.Delivered);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or JsonException)
        {
            Interlocked.Increment(ref state.StreamErrors);
            state.FirstError ??= ex.Message;
        }
        finally
        {
            if (!connected)
            {
                state.Connected();
            }
        }
    }

    private sealed class Collector
    {
        public long Delivered;

        public ConcurrentBag<double> ServerLatencies { get; } = [];

        public ConcurrentBag<double> ClientLatencies { get; } = [];
    }

    private sealed class DeliveryState(int subscribers)
    {
        private int waiting = subscribers;

        public long Duplicates;
        public long StreamErrors;

        public string? FirstError { get; set; }

        public ConcurrentDictionary<string, Collector> Collectors { get; } = new(StringComparer.Ordinal);

        public TaskCompletionSource AllConnected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Connected()
        {
            if (Interlocked.Decrement(ref waiting) == 0)
            {
                AllConnected.TrySetResult();
            }
        }
    }
}
