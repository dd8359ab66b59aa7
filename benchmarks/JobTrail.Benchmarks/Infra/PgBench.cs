using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using JobTrail.Benchmarks.Load;
using Npgsql;

namespace JobTrail.Benchmarks.Infra;

internal sealed record PgBenchResult(string Name, double Tps, long Transactions, long Failed, LatencySummary Latency, string CommandLine, CpuUsage? Cpu);

/// <summary>
/// Runs PostgreSQL's own pgbench with a custom script against a benchmark database: the baseline
/// every API number is set beside. Latency percentiles come from its per-transaction log (-l).
/// </summary>
internal sealed partial class PgBench(string binary, string connectionString, string workDirectory)
{
    public static string FindBinary(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        var installed = Directory.Exists("/usr/lib/postgresql")
            ? Directory.EnumerateDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin", "pgbench"))
                .Where(File.Exists)
                .OrderByDescending(p => Version.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(p))) + ".0", out var v) ? v : new Version(0, 0))
                .FirstOrDefault()
            : null;
        return installed ?? "pgbench";
    }

    /// <summary>
    /// Runs <paramref name="script"/> with <paramref name="clients"/> connections for
    /// <paramref name="duration"/> (after an unmeasured warm-up of the same script when given).
    /// </summary>
    public async Task<PgBenchResult> RunAsync(
        string name, string script, int clients, TimeSpan warmup, TimeSpan duration, Func<CpuSnapshot, CpuSnapshot, CpuUsage>? cpu, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(workDirectory);
        var scriptPath = Path.Combine(workDirectory, name + ".sql");
        await File.WriteAllTextAsync(scriptPath, script, cancellationToken);
        if (warmup > TimeSpan.Zero)
        {
            await RunOnceAsync(name + "-warmup", scriptPath, clients, warmup, log: false, cancellationToken);
        }

        // pgbench and its server sessions are gone once it exits, so the CPU window is taken while
        // they run: from 0.5 s after the start to 0.5 s before the end.
        var window = cpu is null || duration <= TimeSpan.FromSeconds(2) ? null : Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(0.5), cancellationToken);
            var first = ProcStats.Snapshot();
            await Task.Delay(duration - TimeSpan.FromSeconds(1), cancellationToken);
            return cpu(first, ProcStats.Snapshot());
        }, cancellationToken);
        var (output, commandLine) = await RunOnceAsync(name, scriptPath, clients, duration, log: true, cancellationToken);
        var usage = window is null ? null : await window;
        var tps = Match(TpsLine(), output) ?? throw new InvalidOperationException($"pgbench printed no tps:\n{output}");
        var transactions = (long)(Match(ProcessedLine(), output) ?? 0);
        var failed = (long)(Match(FailedLine(), output) ?? 0);
        var latencies = new List<double>();
        foreach (var file in Directory.EnumerateFiles(workDirectory, name + "-log.*"))
        {
            foreach (var line in File.ReadLines(file))
            {
                // client_id transaction_no time(µs) script_no time_epoch time_us ...
                var fields = line.Split(' ');
                if (fields.Length >= 3 && long.TryParse(fields[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out var micros))
                {
                    latencies.Add(micros / 1000.0);
                }
            }

            File.Delete(file);
        }

        return new PgBenchResult(name, tps, transactions, failed, LatencySummary.Of(latencies), commandLine, usage);
    }

    private async Task<(string Output, string CommandLine)> RunOnceAsync(
        string name, string scriptPath, int clients, TimeSpan duration, bool log, CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds));
        var args = new List<string>
        {
            "-n", "-M", "prepared",
            "-c", clients.ToString(CultureInfo.InvariantCulture),
            "-j", Math.Min(clients, Environment.ProcessorCount).ToString(CultureInfo.InvariantCulture),
            "-T", seconds.ToString(CultureInfo.InvariantCulture),
            "-f", scriptPath,
        };
        if (log)
        {
            args.AddRange(["-l", "--log-prefix", Path.Combine(workDirectory, name + "-log")]);
        }

        args.AddRange(["-h", target.Host ?? "127.0.0.1", "-p", target.Port.ToString(CultureInfo.InvariantCulture), "-U", target.Username ?? "postgres", target.Database ?? "postgres"]);
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workDirectory,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["PGPASSWORD"] = target.Password ?? string.Empty;
        start.Environment["PGAPPNAME"] = "jobtrail-bench";
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {binary}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(duration + TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        var output = await stdout + "\n" + await stderr;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"pgbench exited with {process.ExitCode}:\n{output}");
        }

        var shown = string.Join(' ', args.Select(a => a == scriptPath ? Path.GetFileName(a) : a)
            .Where(a => !a.StartsWith(workDirectory, StringComparison.Ordinal)));
        return (output, "pgbench " + shown.Replace("-l --log-prefix", "-l", StringComparison.Ordinal));
    }

    private static double? Match(Regex regex, string text)
    {
        var match = regex.Match(text);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex TpsLine();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex ProcessedLine();

    [GeneratedRegex(@"number of failed transactions: ([0-9]+)")]
    private static partial Regex FailedLine();
}
