using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace JobTrail.Benchmarks.Infra;

internal sealed record RelayStatus(bool Active, long Backlog, double LagSeconds, long Relayed);

/// <summary>How to start the API under test.</summary>
internal sealed record ServerSpec(
    string Label, bool ViaServeCommand, bool Capture, IReadOnlyDictionary<string, string> Settings, bool EfSavepoints = true, string? HostDll = null)
{
    /// <summary>The built JobTrail.Host.dll, as production runs it.</summary>
    public static ServerSpec Host(IReadOnlyDictionary<string, string>? settings = null, string? hostDll = null) =>
        new("JobTrail.Host.dll", false, true, settings ?? new Dictionary<string, string>(), HostDll: hostDll);

    /// <summary>This tool's <c>serve</c> command: the same Program, with activity capture on or off.</summary>
    public static ServerSpec Serve(bool capture, bool efSavepoints = true, IReadOnlyDictionary<string, string>? settings = null) =>
        new($"serve (capture {(capture ? "on" : "off")}{(efSavepoints ? string.Empty : ", EF savepoints off")})", true, capture,
            settings ?? new Dictionary<string, string>(), efSavepoints);
}

/// <summary>
/// The real API in a child process on a free loopback port, against a benchmark database, with a
/// bootstrap key and an integrity key generated for the run. Its output goes to a log file; it is stopped with SIGTERM
/// (SIGKILL after 10 s) when disposed.
/// </summary>
internal sealed class ApiServer : IAsyncDisposable
{
    // Production refuses to start without a chain-signing key; one per run, so hosts of a run agree.
    private static readonly string IntegrityKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly Process process;
    private readonly StreamWriter log;
    private readonly Lock logLock = new();

    private ApiServer(Process process, StreamWriter log, string logPath, Uri baseAddress, string apiKey, string label)
    {
        this.process = process;
        this.log = log;
        LogPath = logPath;
        BaseAddress = baseAddress;
        ApiKey = apiKey;
        Label = label;
    }

    public Uri BaseAddress { get; }

    public string ApiKey { get; }

    public string Label { get; }

    public string LogPath { get; }

    public int Pid => process.Id;

    public static async Task<ApiServer> StartAsync(
        BenchEnvironment environment, BenchDatabase database, ServerSpec spec, string? serviceExtra, string workDirectory, CancellationToken cancellationToken,
        string? sharedApiKey = null)
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        var apiKey = sharedApiKey ?? $"jt_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";
        var start = new ProcessStartInfo(BenchEnvironment.DotnetMuxer)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        if (spec.ViaServeCommand)
        {
            // The stand-in runs under JobTrail.Host's runtime settings (concurrent server GC, thread-pool workers that do
            // not spin: ADR 0038), not this tool's, which are a load generator's (non-concurrent workstation GC). Under
            // the tool's, with only the server GC forced, idle workers spun (docs/benchmarks.md, 2026-12-02, fourth round).
            var hostRuntimeConfig = Path.Combine(AppContext.BaseDirectory, "JobTrail.Host.runtimeconfig.json");
            if (!File.Exists(hostRuntimeConfig))
            {
                throw new InvalidOperationException($"{hostRuntimeConfig} is missing: build the tool again (JobTrail.Host's output is copied beside it).");
            }

            start.ArgumentList.Add("exec");
            start.ArgumentList.Add("--runtimeconfig");
            start.ArgumentList.Add(hostRuntimeConfig);
            start.ArgumentList.Add(typeof(ApiServer).Assembly.Location);
            start.ArgumentList.Add("serve");
            start.ArgumentList.Add("--port");
            start.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
            start.ArgumentList.Add("--capture");
            start.ArgumentList.Add(spec.Capture ? "on" : "off");
            start.ArgumentList.Add("--ef-savepoints");
            start.ArgumentList.Add(spec.EfSavepoints ? "on" : "off");
            start.WorkingDirectory = AppContext.BaseDirectory;
        }
        else
        {
            // Another build (e.g. a worktree of the baseline commit) when the spec names one.
            var hostDll = spec.HostDll is { } other ? Path.GetFullPath(other) : environment.HostDll;
            start.ArgumentList.Add(hostDll);
            start.ArgumentList.Add("--urls");
            start.ArgumentList.Add(url);
            // The content root (appsettings.json) is the current directory, as in the Dockerfile.
            start.WorkingDirectory = Path.GetDirectoryName(hostDll)!;
        }

        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("JobTrail__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(name);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["JobTrail__Postgres"] = BenchEnvironment.ForDatabase(environment.ServiceConnectionString, database.Name, serviceExtra);
        start.Environment["JobTrail__PostgresOwner"] = database.OwnerConnectionString;
        start.Environment["JobTrail__Valkey"] = environment.Valkey;
        start.Environment["JobTrail__Integrity__Key"] = IntegrityKey;
        start.Environment["JobTrail__Bootstrap__ApiKey"] = apiKey;
        start.Environment["JobTrail__Bootstrap__Workspace"] = "default";
        // One key drives the whole load: the per-key limit (200/s by default) would measure the limiter.
        start.Environment["JobTrail__RateLimit__PerSecond"] = "10000000";
        start.Environment["JobTrail__RateLimit__Burst"] = "10000000";
        // The metrics listener's fixed default port is taken by any other host on the machine; a scenario may set it.
        start.Environment["JobTrail__Metrics__Url"] = string.Empty;
        foreach (var (key, value) in spec.Settings)
        {
            start.Environment[key] = value;
        }

        Directory.CreateDirectory(workDirectory);
        var logPath = Path.Combine(workDirectory, $"api-{port}.log");
        var log = new StreamWriter(logPath) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var server = new ApiServer(process, log, logPath, new Uri(url), apiKey, spec.Label);
        process.OutputDataReceived += (_, e) => server.Log(e.Data);
        process.ErrorDataReceived += (_, e) => server.Log(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        Console.Error.WriteLine($"[bench] started {spec.Label} (pid {process.Id}) on {url}, log {logPath}");
        try
        {
            await server.WaitReadyAsync(TimeSpan.FromSeconds(120), cancellationToken);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }

        return server;
    }

    public double? RssMiB() => ProcStats.RssMiB(process.Id);

    /// <summary>The relay entry of /health/ready: events waiting in the outbox, age of the oldest, events relayed so far.</summary>
    public async Task<RelayStatus?> RelayStatusAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            var text = await http.GetStringAsync(new Uri("/health/ready", UriKind.Relative), cancellationToken);
            using var json = System.Text.Json.JsonDocument.Parse(text);
            if (!json.RootElement.GetProperty("checks").TryGetProperty("relay", out var relay) || !relay.TryGetProperty("data", out var data))
            {
                return null;
            }

            return new RelayStatus(data.GetProperty("active").GetBoolean(), data.GetProperty("backlog").GetInt64(),
                data.GetProperty("lagSeconds").GetDouble(), data.GetProperty("relayed").GetInt64());
        }
        catch (Exception ex) when (ex is HttpRequestException or System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Waits (bounded) until the relay has drained the outbox; answers how long that took, or null if it did not.</summary>
    public async Task<(TimeSpan? Drained, RelayStatus? AtEnd)> WaitForRelayAsync(TimeSpan limit, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var first = await RelayStatusAsync(cancellationToken);
        var status = first;
        while (watch.Elapsed < limit)
        {
            // The backlog is refreshed by the relay about once a second.
            await Task.Delay(TimeSpan.FromSeconds(1.1), cancellationToken);
            status = await RelayStatusAsync(cancellationToken);
            if (status is null || status.Backlog == 0)
            {
                return (status is null ? null : watch.Elapsed, first);
            }
        }

        return (null, first);
    }

    public double? PeakRssMiB() => ProcStats.PeakRssMiB(process.Id);

    public async ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            try
            {
                using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                if (term is not null)
                {
                    await term.WaitForExitAsync();
                }

                using var graceful = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(graceful.Token);
            }
            catch (Exception ex)
            {
                // No graceful stop within 10 s, or the SIGTERM itself failed: a host must never outlive its run.
                if (ex is not OperationCanceledException)
                {
                    Console.Error.WriteLine($"[bench] stopping {Label} (pid {process.Id}) with SIGTERM failed ({ex.Message}); killing it");
                }

                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        Console.Error.WriteLine($"[bench] stopped {Label} (pid {process.Id})");
        process.Dispose();
        lock (logLock)
        {
            log.Dispose();
        }
    }

    private void Log(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (logLock)
        {
            try
            {
                log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < timeout)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{Label} exited with code {process.ExitCode} before it was ready:\n{Tail()}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    Console.Error.WriteLine($"[bench] {Label} ready after {deadline.Elapsed.TotalSeconds:0.0} s");
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }

        throw new TimeoutException($"{Label} was not ready within {timeout.TotalSeconds} s:\n{Tail()}");
    }

    private string Tail()
    {
        lock (logLock)
        {
            log.Flush();
        }

        return string.Join('\n', File.ReadLines(LogPath).TakeLast(40));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
