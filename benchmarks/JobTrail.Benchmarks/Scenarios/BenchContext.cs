using System.Diagnostics;
using System.Globalization;
using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;

namespace JobTrail.Benchmarks.Scenarios;

/// <summary>Options every scenario takes.</summary>
internal sealed record CommonOptions(
    int Seconds,
    int Warmup,
    int Clients,
    int Rounds,
    string? ServiceExtra,
    IReadOnlyDictionary<string, string> HostSettings,
    string? PgBenchPath,
    bool Diagnose,
    string CommandLine,
    int Instances = 1);

/// <summary>A measured API run, with the machine's CPU use and the API's memory over the same window.</summary>
internal sealed record ApiMeasurement(
    LoadResult Load, CpuUsage Cpu, double MaxRssMiB, IReadOnlyList<double> MaxRssPerServerMiB, RelayStatus? RelayAtEnd, TimeSpan? RelayDrained,
    IReadOnlyList<double> CpuPerServer)
{
    /// <summary>"backlog 1,234 events (lag 2.1 s) at the end, drained in 3 s" (before ADR 0041 a row was an event).</summary>
    public string DescribeRelay() => RelayAtEnd is null
        ? "relay state unknown"
        : $"outbox backlog {RelayAtEnd.Backlog:N0} events (oldest {RelayAtEnd.LagSeconds:0.0} s) at the end of the run; " +
          (RelayDrained is { } drained ? $"drained {drained.TotalSeconds:0} s later" : "not drained within 60 s");
}

internal sealed class BenchContext(BenchEnvironment environment, CommonOptions options, string workDirectory)
{
    public const string ApiLabel = "API";
    public const string ClientLabel = "load client";
    public const string PostgresLabel = "postgres (all databases)";

    private readonly List<int> serverPids = [];

    public BenchEnvironment Environment { get; } = environment;

    public CommonOptions Options { get; } = options;

    public string WorkDirectory { get; } = workDirectory;

    public TimeSpan Duration => TimeSpan.FromSeconds(Options.Seconds);

    public TimeSpan Warmup => TimeSpan.FromSeconds(Options.Warmup);

    public Task<ApiServer> StartServerAsync(BenchDatabase database, ServerSpec spec, CancellationToken cancellationToken) =>
        StartServerAsync(database, spec, Options.ServiceExtra, cancellationToken);

    /// <summary>Starts the API with <see cref="CommonOptions.HostSettings"/> over the spec's own, and <paramref name="serviceExtra"/> on its connection string.</summary>
    public async Task<ApiServer> StartServerAsync(
        BenchDatabase database, ServerSpec spec, string? serviceExtra, CancellationToken cancellationToken, string? sharedApiKey = null)
    {
        if (Options.HostSettings.Count > 0)
        {
            var settings = new Dictionary<string, string>(spec.Settings, StringComparer.Ordinal);
            foreach (var (key, value) in Options.HostSettings)
            {
                settings[key] = value;
            }

            spec = spec with { Settings = settings };
        }

        var server = await ApiServer.StartAsync(Environment, database, spec, serviceExtra, WorkDirectory, cancellationToken, sharedApiKey);
        serverPids.Add(server.Pid);
        return server;
    }

    /// <summary>
    /// <see cref="CommonOptions.Instances"/> hosts on one database, started one after the other (the first applies
    /// the migrations), all with the first one's bootstrap key, as instances behind a load balancer.
    /// </summary>
    public async Task<ApiServer[]> StartServersAsync(BenchDatabase database, ServerSpec spec, CancellationToken cancellationToken)
    {
        var servers = new List<ApiServer>();
        try
        {
            for (var i = 0; i < Math.Max(1, Options.Instances); i++)
            {
                // Every instance's metrics listener would take the same default port: the later ones go without.
                var own = i == 0 ? spec : spec with { Settings = new Dictionary<string, string>(spec.Settings, StringComparer.Ordinal) { ["JobTrail__Metrics__Url"] = string.Empty } };
                var server = await StartServerAsync(database, own, Options.ServiceExtra, cancellationToken, servers.FirstOrDefault()?.ApiKey);
                servers.Add(server);
            }
        }
        catch
        {
            await StopServersAsync([.. servers]);
            throw;
        }

        return [.. servers];
    }

    public static async Task StopServersAsync(IEnumerable<ApiServer> servers)
    {
        // Every server is stopped even if stopping one fails; the first failure is reported after.
        List<Exception>? failures = null;
        foreach (var server in servers)
        {
            try
            {
                await server.DisposeAsync();
            }
            catch (Exception ex)
            {
                (failures ??= []).Add(ex);
            }
        }

        if (failures is not null)
        {
            throw new AggregateException("Stopping the API failed.", failures);
        }
    }

    public PgBench PgBenchFor(string connectionString) => new(PgBench.FindBinary(Options.PgBenchPath), connectionString, WorkDirectory);

    /// <summary>Runs a closed loop against <paramref name="servers"/>, sampling their RSS and the machine's CPU.</summary>
    public async Task<ApiMeasurement> MeasureAsync(
        string name, int workers, Func<int, long, CancellationToken, Task<int>> send, CancellationToken cancellationToken, params ApiServer[] servers) =>
        await MeasureAsync(name, workers, send, 1, null, cancellationToken, servers);

    /// <summary>As above, with latencies split into <paramref name="buckets"/> by <paramref name="bucketOf"/>(worker, iteration).</summary>
    public async Task<ApiMeasurement> MeasureAsync(
        string name, int workers, Func<int, long, CancellationToken, Task<int>> send, int buckets, Func<int, long, int>? bucketOf,
        CancellationToken cancellationToken, params ApiServer[] servers) =>
        await MeasureAsync(name, workers, send, buckets, bucketOf, Warmup, cancellationToken, servers);

    /// <summary>As above, with a warm-up of its own instead of <see cref="CommonOptions.Warmup"/>.</summary>
    public async Task<ApiMeasurement> MeasureAsync(
        string name, int workers, Func<int, long, CancellationToken, Task<int>> send, int buckets, Func<int, long, int>? bucketOf,
        TimeSpan warmup, CancellationToken cancellationToken, params ApiServer[] servers)
    {
        Console.Error.WriteLine($"[bench] {name}: {workers} clients, {warmup.TotalSeconds:0} s warm-up + {Options.Seconds} s");
        using var rss = new RssSampler(servers);
        CpuSnapshot? before = null;
        // The CPU window opens when the warm-up ends, with the measured period.
        var opened = Task.Delay(warmup, cancellationToken).ContinueWith(_ => before = ProcStats.Snapshot(), TaskScheduler.Default);
        var load = await ClosedLoop.RunAsync(name, workers, warmup, Duration, send, cancellationToken, buckets, bucketOf);
        await opened;
        var start = before ?? ProcStats.Snapshot();
        var end = ProcStats.Snapshot();
        var cpu = ProcStats.Between(start, end, Label);
        // Each server's own share, for comparisons of two hosts in one run (ab): % of one core per server.
        var byServer = ProcStats.Between(start, end, (pid, _) => Array.FindIndex(servers, s => s.Pid == pid).ToString(CultureInfo.InvariantCulture));
        var cpuPerServer = servers.Select((_, i) => byServer.ByLabel.FirstOrDefault(kv => kv.Key == i.ToString(CultureInfo.InvariantCulture)).Value).ToList();
        Console.Error.WriteLine($"[bench]   {load.PerSecond:0} /s, {load.Latency.Describe()}, {load.DescribeFailures()}");
        Console.Error.WriteLine($"[bench]   CPU: {cpu.Describe()}; API RSS max {rss.MaxMiB:0} MiB");
        // The next measurement (often the baseline) must not share the machine with a relay catching up.
        var (drained, relay) = await servers[0].WaitForRelayAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var measurement = new ApiMeasurement(load, cpu, rss.MaxMiB, rss.MaxPerServer, relay, drained, cpuPerServer);
        Console.Error.WriteLine($"[bench]   {measurement.DescribeRelay()}");
        return measurement;
    }

    /// <summary>pgbench has nothing to compile: a short warm-up (connections, caches) is enough.</summary>
    public TimeSpan PgBenchWarmup => TimeSpan.FromSeconds(Math.Min(1, Options.Warmup));

    public async Task<PgBenchResult> PgBenchAsync(
        PgBench pgbench, string name, string script, int clients, CancellationToken cancellationToken, TimeSpan? duration = null)
    {
        var measured = duration ?? Duration;
        Console.Error.WriteLine($"[bench] pgbench {name}: {clients} clients, {PgBenchWarmup.TotalSeconds} s warm-up + {measured.TotalSeconds} s");
        var result = await pgbench.RunAsync(name, script, clients, PgBenchWarmup, measured, (start, end) => ProcStats.Between(start, end, Label), cancellationToken);
        Console.Error.WriteLine($"[bench]   {result.Tps:0} tps, {result.Latency.Describe()}, {result.Failed} failed");
        Console.Error.WriteLine($"[bench]   CPU: {result.Cpu?.Describe()}");
        return result;
    }

    /// <summary>Groups processes for the CPU breakdown: ours by role, the rest by command name.</summary>
    public string Label(int pid, string comm)
    {
        if (serverPids.Contains(pid))
        {
            return ApiLabel;
        }

        if (pid == System.Environment.ProcessId)
        {
            return ClientLabel;
        }

        if (comm.StartsWith("postgres", StringComparison.Ordinal) || comm.StartsWith("postmaster", StringComparison.Ordinal))
        {
            return PostgresLabel;
        }

        return comm switch
        {
            "pgbench" => "pgbench",
            "redis-server" or "valkey-server" => "valkey/redis",
            _ => "other: " + comm,
        };
    }

    public string Command(string scenario, string extra = "") =>
        $"dotnet run -c Release --project benchmarks/JobTrail.Benchmarks -- {scenario} --seconds {Options.Seconds} --warmup {Options.Warmup}" +
        (string.IsNullOrEmpty(extra) ? string.Empty : " " + extra) +
        (Options.Instances > 1 ? $" --instances {Options.Instances}" : string.Empty) +
        (string.IsNullOrWhiteSpace(Options.ServiceExtra) ? string.Empty : $" --service-extra \"{Options.ServiceExtra}\"") +
        string.Concat(Options.HostSettings.Select(kv => $" --host-setting {kv.Key}={kv.Value}"));

    public static string OtherCpu(CpuUsage cpu)
    {
        var others = cpu.ByLabel.Where(kv => kv.Key.StartsWith("other: ", StringComparison.Ordinal)).Sum(kv => kv.Value);
        return $"{others:0}%";
    }
}

/// <summary>Samples the servers' VmRSS every 200 ms; <see cref="MaxMiB"/> is the largest single sample (summed over servers).</summary>
internal sealed class RssSampler : IDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    private readonly double[] perServer;

    public RssSampler(IReadOnlyList<ApiServer> servers)
    {
        perServer = new double[servers.Count];
        loop = Task.Run(async () =>
        {
            var watch = Stopwatch.StartNew();
            // Bounded: stops when disposed, and after an hour regardless.
            while (!stop.IsCancellationRequested && watch.Elapsed < TimeSpan.FromHours(1))
            {
                var each = servers.Select(s => s.RssMiB() ?? 0).ToArray();
                MaxMiB = Math.Max(MaxMiB, each.Sum());
                for (var i = 0; i < each.Length; i++)
                {
                    perServer[i] = Math.Max(perServer[i], each[i]);
                }
                try
                {
                    await Task.Delay(200, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        });
    }

    public double MaxMiB { get; private set; }

    public IReadOnlyList<double> MaxPerServer => perServer;

    public void Dispose()
    {
        stop.Cancel();
        loop.Wait(TimeSpan.FromSeconds(2));
        stop.Dispose();
    }
}
