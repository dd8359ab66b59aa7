using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;
using JobTrail.Benchmarks.Reporting;

namespace JobTrail.Benchmarks.Scenarios;

internal sealed record IdleSseSettings(int Connections, int Jobs, int OpenConcurrency, int HeartbeatSeconds);

/// <summary>
/// `idle-sse`: one API instance holding many concurrent, idle SSE streams (nothing is emitted; only
/// heartbeats flow) for the measured period. Reports the host's RSS (peak and at the end), CPU and
/// thread count, and how many streams were still open and had received a heartbeat in the last
/// heartbeat period at the end. Budget (issue 11): 10,000 idle streams with RSS ≤ 1 GB.
/// </summary>
internal static class IdleSseScenario
{
    private const double BudgetMiB = 1e9 / 1024 / 1024;

    public static async Task<ScenarioReport> RunAsync(BenchContext context, IdleSseSettings settings, CancellationToken cancellationToken)
    {
        var report = new ScenarioReport(
            $"idle-sse: {settings.Connections:N0} idle SSE streams on one instance, {settings.Jobs} jobs, heartbeat every {settings.HeartbeatSeconds} s",
            context.Command("idle-sse", $"--connections {settings.Connections} --jobs {settings.Jobs} --heartbeat-seconds {settings.HeartbeatSeconds}"));
        await using var database = await BenchDatabase.CreateAsync(context.Environment, cancellationToken);
        // The stream caps (100 per workspace, half of it per key) would refuse all but 50 streams of the one key.
        var serverSettings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["JobTrail__Events__Stream__MaxStreamsPerWorkspace"] = (settings.Connections + 100).ToString(CultureInfo.InvariantCulture),
            ["JobTrail__Events__Stream__MaxShareOfWorkspacePerKey"] = "1",
            ["JobTrail__Events__Stream__Heartbeat"] = TimeSpan.FromSeconds(settings.HeartbeatSeconds).ToString("c", CultureInfo.InvariantCulture),
        };
        await using var server = await context.StartServerAsync(database, ServerSpec.Host(serverSettings), cancellationToken);
        using var api = new ApiClient(server.BaseAddress, server.ApiKey);
        var jobs = new Guid[settings.Jobs];
        await Parallel.ForAsync(0, jobs.Length, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = cancellationToken },
            async (i, ct) => (jobs[i], _) = await api.CreateJobAsync($"idle-sse-{i}", ct));
        var rssBefore = server.RssMiB() ?? 0;
        var threadsBefore = ProcStats.Threads(server.Pid) ?? 0;

        // One handler for all streams: the ApiClient's per-server connection limit is below 10,000.
        using var http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        })
        {
            BaseAddress = server.BaseAddress,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        var authorization = new AuthenticationHeaderValue("Bearer", server.ApiKey);
        var streams = new StreamState[settings.Connections];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        // Bounded: opening, the measured period and a margin.
        stop.CancelAfter(TimeSpan.FromSeconds(300) + context.Duration);
        using var rss = new RssSampler([server]);
        var clock = Stopwatch.StartNew();
        Console.Error.WriteLine($"[bench] idle-sse: opening {settings.Connections:N0} streams over {settings.Jobs} jobs, {settings.OpenConcurrency} at a time");
        using var opening = new SemaphoreSlim(settings.OpenConcurrency);
        var tasks = new List<Task>(settings.Connections);
        for (var k = 0; k < settings.Connections; k++)
        {
            var state = streams[k] = new StreamState();
            await opening.WaitAsync(cancellationToken);
            tasks.Add(Task.Run(() => HoldAsync(http, authorization, jobs[k % jobs.Length], state, clock, opening, stop.Token), CancellationToken.None));
            if ((k + 1) % 1000 == 0)
            {
                Console.Error.WriteLine($"[bench]   {k + 1:N0} requested, RSS {server.RssMiB():0} MiB, {clock.Elapsed.TotalSeconds:0} s");
            }
        }

        // Every stream has answered (headers and its backfill) or failed, within a deadline.
        var openDeadline = Stopwatch.StartNew();
        while (streams.Any(s => s.Phase == StreamPhase.Opening) && openDeadline.Elapsed < TimeSpan.FromSeconds(120))
        {
            await Task.Delay(200, cancellationToken);
        }

        var openedIn = clock.Elapsed;
        var openAtStart = streams.Count(s => s.Phase == StreamPhase.Open);
        var failures = streams.Where(s => s.Phase == StreamPhase.Failed).GroupBy(s => s.Error ?? "?").OrderByDescending(g => g.Count()).ToList();
        Console.Error.WriteLine($"[bench]   {openAtStart:N0} open after {openedIn.TotalSeconds:0} s; {failures.Sum(g => g.Count()):N0} failed " +
                                string.Join("; ", failures.Take(3).Select(g => $"{g.Count()}× {g.Key}")));
        var rssOpened = server.RssMiB() ?? 0;

        Console.Error.WriteLine($"[bench]   holding for {context.Options.Seconds} s");
        var before = ProcStats.Snapshot();
        var threadsMax = 0;
        var window = Stopwatch.StartNew();
        while (window.Elapsed < context.Duration)
        {
            threadsMax = Math.Max(threadsMax, ProcStats.Threads(server.Pid) ?? 0);
            await Task.Delay(500, cancellationToken);
        }

        var cpu = ProcStats.Between(before, ProcStats.Snapshot(), context.Label);
        var now = clock.Elapsed.TotalSeconds;
        // A stream "receives heartbeats" when its last frame came within one heartbeat period plus slack.
        var recent = settings.HeartbeatSeconds + 5;
        var openAtEnd = streams.Count(s => s.Phase == StreamPhase.Open);
        var beating = streams.Count(s => s.Phase == StreamPhase.Open && now - s.LastFrameSeconds <= recent);
        var pings = streams.Sum(s => (long)s.Pings);
        var rssEnd = server.RssMiB() ?? 0;
        var peak = Math.Max(rss.MaxMiB, server.PeakRssMiB() ?? 0);
        var threadsEnd = ProcStats.Threads(server.Pid) ?? 0;
        var fds = ProcStats.OpenFiles(server.Pid);
        Console.Error.WriteLine($"[bench]   at end: {openAtEnd:N0} open, {beating:N0} with a heartbeat in the last {recent} s; RSS {rssEnd:0} MiB (peak {peak:0}); " +
                                $"threads {threadsEnd}; CPU {cpu.Describe()}");
        await stop.CancelAsync();
        await Task.WhenAll(tasks);

        report.Setup.Add($"API: JobTrail.Host.dll on a fresh database, relay and Valkey Pub/Sub on; {settings.Jobs} jobs (stream k follows job k mod {settings.Jobs}, " +
                         "one Pub/Sub channel per job with listeners), each stream an HTTP/1.1 `GET …/events/stream` from one key, held open, nothing emitted.");
        report.Setup.Add($"caps raised for the run: `JobTrail__Events__Stream__MaxStreamsPerWorkspace={settings.Connections + 100}`, `MaxShareOfWorkspacePerKey=1` " +
                         $"(defaults 100 and 0.5); heartbeat `JobTrail__Events__Stream__Heartbeat` {settings.HeartbeatSeconds} s (default 15 s); " +
                         $"streams opened {settings.OpenConcurrency} at a time; open-files limit {ProcStats.OpenFilesLimit(Environment.ProcessId)} (client), {ProcStats.OpenFilesLimit(server.Pid)} (API).");
        report.Setup.Add("baseline: the same host before any stream was opened (its RSS and threads with the jobs created); the budget is absolute.");
        report.Rows.Add(new ResultRow("streams open after opening", $"{openAtStart:N0} of {settings.Connections:N0} in {openedIn.TotalSeconds:0} s",
            "—", "—", "—", failures.Count == 0 ? "—" : $"{failures.Sum(g => g.Count()):N0} failed: " + string.Join("; ", failures.Take(3).Select(g => $"{g.Count()}× {g.Key}"))));
        report.Rows.Add(new ResultRow($"streams open at the end / with a heartbeat in the last {recent} s", $"{openAtEnd:N0} / {beating:N0}", $"{settings.Connections:N0}", "—",
            "10,000 held", Fmt.Verdict(beating >= settings.Connections && settings.Connections >= 10_000)));
        report.Rows.Add(new ResultRow("heartbeats received in the whole run", Fmt.N(pings, "0"), "—", "—", "—", "—"));
        report.Rows.Add(new ResultRow("API RSS: before streams / all open / end / peak (VmHWM)", $"{rssBefore:0} / {rssOpened:0} / {rssEnd:0} / {peak:0} MiB",
            $"{rssBefore:0} MiB before", $"+{(rssEnd - rssBefore) * 1024 / Math.Max(1, openAtEnd):0} KiB per stream", "≤ 1 GB", Fmt.Verdict(peak <= BudgetMiB)));
        report.Rows.Add(new ResultRow("API threads: before / max in window / end", $"{threadsBefore} / {threadsMax} / {threadsEnd}", "—", "—", "—", "—"));
        report.Rows.Add(new ResultRow("API open file descriptors at the end", fds?.ToString("N0", CultureInfo.InvariantCulture) ?? "?", "—", "—", "—", "—"));
        report.Rows.Add(new ResultRow($"CPU over the {context.Options.Seconds} s idle window, % of one core", Rows.Cpu(cpu, "API", BenchContext.ApiLabel), "—", "—", "—", "—"));
        return report;
    }

    private static async Task HoldAsync(
        HttpClient http, AuthenticationHeaderValue authorization, Guid job, StreamState state, Stopwatch clock, SemaphoreSlim opening, CancellationToken cancellationToken)
    {
        var released = false;
        void Release()
        {
            if (!released)
            {
                released = true;
                opening.Release();
            }
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runner-jobs/{job}/events/stream");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            request.Headers.Authorization = authorization;
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                state.Fail($"HTTP {(int)response.StatusCode}");
                return;
            }

            await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
            using var reader = new StreamReader(body);
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.StartsWith("data:", StringComparison.Ordinal))
                {
                    // The backfill (job.created): the stream is live.
                    state.Phase = StreamPhase.Open;
                    Release();
                    state.LastFrameSeconds = clock.Elapsed.TotalSeconds;
                }
                else if (line.StartsWith(": ping", StringComparison.Ordinal))
                {
                    state.Pings++;
                    state.LastFrameSeconds = clock.Elapsed.TotalSeconds;
                }
            }

            state.Fail("stream ended by the server");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException)
        {
            state.Fail(ex.GetType().Name + ": " + ex.Message);
        }
        finally
        {
            Release();
        }
    }

    private enum StreamPhase
    {
        Opening,
        Open,
        Failed,
    }

    private sealed class StreamState
    {
        public volatile StreamPhase Phase;

        public int Pings;

        public double LastFrameSeconds;

        public string? Error { get; private set; }

        public void Fail(string error)
        {
            Error ??= error;
            Phase = StreamPhase.Failed;
        }
    }
}
