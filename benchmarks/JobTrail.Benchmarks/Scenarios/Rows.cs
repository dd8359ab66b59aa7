using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Reporting;

namespace JobTrail.Benchmarks.Scenarios;

internal static class Rows
{
    /// <summary>The design's "API RSS ≤ 400 MB", in MiB (what /proc reports): 400 × 10⁶ B = 381.5 MiB.</summary>
    public const double RssBudgetMiB = 400 * 1_000_000.0 / (1 << 20);

    public static string Cpu(CpuUsage cpu, string main, string mainLabel) =>
        $"{main} {Fmt.N(cpu.Of(mainLabel))}%, postgres {Fmt.N(cpu.Of(BenchContext.PostgresLabel))}%, " +
        (main == "API" ? $"client {Fmt.N(cpu.Of(BenchContext.ClientLabel))}%, " : string.Empty) +
        $"others {BenchContext.OtherCpu(cpu)}; machine {Fmt.N(cpu.MachineBusyPercent)}% (stolen by the host {Fmt.N(cpu.StolenPercent)}%)";

    /// <summary>Failures, the API's largest RSS, and where the CPU went on both sides.</summary>
    public static void AddResourceRows(ScenarioReport report, string variant, ApiMeasurement api, PgBenchResult? pg)
    {
        report.Rows.Add(new ResultRow($"{variant}: failed requests / API RSS max", $"{api.Load.Failed} / {Fmt.N(api.MaxRssMiB)} MiB",
            pg is null ? "—" : $"{pg.Failed} / —", "—", "RSS ≤ 400 MB", Fmt.Verdict(api.MaxRssMiB <= RssBudgetMiB)));
        report.Rows.Add(new ResultRow($"{variant}: CPU, % of one core", Cpu(api.Cpu, "API", BenchContext.ApiLabel),
            pg?.Cpu is null ? "—" : Cpu(pg.Cpu, "pgbench", "pgbench"), "—", "—", "—"));
        if (api.RelayAtEnd is { Backlog: > 0 })
        {
            report.Notes.Add($"{variant}: {api.DescribeRelay()}.");
        }
    }
}
