using System.Globalization;
using System.Text.RegularExpressions;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// The benchmark tool, run as users run it (its own process starting JobTrail.Host.dll in Production
/// on a fresh database), for two seconds: it must start the host, get emits accepted and exit cleanly.
/// Only that is asserted, never a rate.
/// </summary>
public sealed partial class BenchmarkSmokeTests
{
    // The tool's whole run (host start-up, migrations, 2 x 2 s of load, pgbench) is far below this on a busy machine.
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Benchmark_emit_starts_the_production_host_and_reports_accepted_events()
    {
        var (exitCode, output, errors) = await RunToolAsync("emit", "--seconds", "2", "--warmup", "0", "--clients", "2", "--diagnose", "false");

        Assert.True(exitCode == 0, $"The benchmark tool exited with {exitCode}:\n{Tail(errors)}");
        var rates = EventsPerSecondRow().Matches(output).ToDictionary(m => m.Groups["variant"].Value, m => double.Parse(m.Groups["rate"].Value, CultureInfo.InvariantCulture));
        Assert.True(rates.Count == 2, $"Expected the own-job and shared-job rows in the report:\n{output}");
        Assert.All(rates, rate => Assert.True(rate.Value > 0, $"{rate.Key}: no event was accepted:\n{output}\n{Tail(errors)}"));
    }

    private static async Task<ExternalProcess.Result> RunToolAsync(params string[] arguments)
    {
        // The tool runs on this run's PostgreSQL (the container, when there is one), not the environment's.
        var server = await TestPostgres.GetAsync();
        return await ExternalProcess.RunAsync(Muxer, [ToolDll(), .. arguments], Deadline, new Dictionary<string, string>
        {
            ["JobTrail__Postgres"] = server.ServiceConnectionString,
            ["JobTrail__PostgresOwner"] = server.OwnerConnectionString,
        });
    }

    /// <summary>The tool as built beside this test run (the project reference builds it first).</summary>
    private static string ToolDll()
    {
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        var dll = Path.Combine(Repository.Root, "benchmarks", "JobTrail.Benchmarks", "bin", configuration, "net10.0", "JobTrail.Benchmarks.dll");
        return File.Exists(dll) ? dll : throw new InvalidOperationException($"{dll} is missing: build benchmarks/JobTrail.Benchmarks -c {configuration}.");
    }

    private static string Muxer =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";

    private static string Tail(string text) => string.Join('\n', text.Split('\n').TakeLast(40));

    [GeneratedRegex(@"^\| (?<variant>own job per client|all clients into one job): events/s \| (?<rate>[0-9.]+) \|", RegexOptions.Multiline)]
    private static partial Regex EventsPerSecondRow();
}
