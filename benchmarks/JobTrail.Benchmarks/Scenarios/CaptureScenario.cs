using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;
using JobTrail.Benchmarks.Reporting;

namespace JobTrail.Benchmarks.Scenarios;

/// <summary>
/// `capture`: the cost of automatic activity capture on an audited command. The host has no switch
/// for it, so two hosts of the same Program run side by side on one database (this tool's `serve`
/// command): one as built, one with every IActivityCapture removed from its services. Each client
/// alternates between them request by request, so both see the same machine state. The command is
/// POST /api/runner-jobs (job row + job.created event + outbox row, + the activity row when on).
/// Budget (DESIGN §8): capture adds ≤ 10% to the command's latency; API RSS ≤ 400 MB.
/// </summary>
internal static class CaptureScenario
{
    public static async Task<ScenarioReport> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var clients = context.Options.Clients;
        var report = new ScenarioReport($"capture: POST /api/runner-jobs with activity capture on vs off, {clients} concurrent clients",
            context.Command("capture", $"--clients {clients}"));
        await using var database = await BenchDatabase.CreateAsync(context.Environment, cancellationToken);
        await using var on = await context.StartServerAsync(database, ServerSpec.Serve(capture: true), cancellationToken);
        await using var off = await context.StartServerAsync(database, ServerSpec.Serve(capture: false), cancellationToken);
        using var apiOn = new ApiClient(on.BaseAddress, on.ApiKey);
        using var apiOff = new ApiClient(off.BaseAddress, off.ApiKey);
        // Both hosts bootstrap the same workspace; their keys differ (each host's own bootstrap key).
        await apiOn.CreateJobAsync("capture-probe-on", cancellationToken);
        await apiOff.CreateJobAsync("capture-probe-off", cancellationToken);
        var body = ApiClient.Utf8("""{"type":"ci","name":"build #7","metadata":{"branch":"main","commit":"4f2a9c1"}}""");

        report.Setup.Add("two hosts of the same Program (this tool's `serve` command, Kestrel on 127.0.0.1, server GC, Production), one database: " +
                         "**on** = as built; **off** = the same with every `IActivityCapture` removed from its services, so `ActivityCaptureBehavior` records nothing.");
        report.Setup.Add($"each client alternates on/off request by request (client k starts with {(clients > 1 ? "on for even k, off for odd k" : "on")}); `POST /api/runner-jobs` with `{System.Text.Encoding.UTF8.GetString(body)}`.");

        for (var round = 1; round <= context.Options.Rounds; round++)
        {
            var suffix = context.Options.Rounds > 1 ? $" (round {round})" : string.Empty;
            var measured = await context.MeasureAsync("create job, capture on/off interleaved", clients,
                (w, i, ct) => ((w + i) % 2 == 0 ? apiOn : apiOff).PostAsync("/api/runner-jobs", body, ct),
                buckets: 2, bucketOf: (w, i) => (int)((w + i) % 2), cancellationToken, on, off);
            var withCapture = measured.Load.Buckets[0];
            var without = measured.Load.Buckets[1];
            var meanRatio = withCapture.Mean / without.Mean;
            report.Rows.Add(new ResultRow($"latency mean{suffix}", Fmt.Ms(withCapture.Mean), Fmt.Ms(without.Mean) + " (off)", Fmt.Ratio(meanRatio),
                "≤ 1.10×", Fmt.Verdict(meanRatio <= 1.10)));
            report.Rows.Add(new ResultRow($"latency p50 / p95 / p99{suffix}",
                $"{Fmt.Ms(withCapture.P50)} / {Fmt.Ms(withCapture.P95)} / {Fmt.Ms(withCapture.P99)}",
                $"{Fmt.Ms(without.P50)} / {Fmt.Ms(without.P95)} / {Fmt.Ms(without.P99)} (off)",
                $"{Fmt.Ratio(withCapture.P50 / without.P50)} / {Fmt.Ratio(withCapture.P95 / without.P95)} / {Fmt.Ratio(withCapture.P99 / without.P99)}",
                "≤ 1.10×", Fmt.Verdict(withCapture.P50 / without.P50 <= 1.10)));
            report.Rows.Add(new ResultRow($"commands/s (both hosts){suffix}", Fmt.N(measured.Load.PerSecond), "—", "—", "—", "—"));
            report.Rows.Add(new ResultRow($"failed requests / RSS max{suffix}",
                $"{measured.Load.Failed} / on {Fmt.N(measured.MaxRssPerServerMiB[0])} MiB",
                $"off {Fmt.N(measured.MaxRssPerServerMiB[1])} MiB", "—", "RSS ≤ 400 MB",
                Fmt.Verdict(measured.MaxRssPerServerMiB.Max() <= Rows.RssBudgetMiB)));
            report.Rows.Add(new ResultRow($"CPU, % of one core{suffix}", Rows.Cpu(measured.Cpu, "API (both hosts)", BenchContext.ApiLabel), "—", "—", "—", "—"));
        }

        report.Notes.Add("The ratio is on/off: 1.00× means capture costs nothing measurable; the p50 ratio decides the verdict of the second row, the mean ratio the first.");
        return report;
    }
}
