using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;
using JobTrail.Benchmarks.Reporting;

namespace JobTrail.Benchmarks.Scenarios;

/// <summary>One side of an A/B comparison: how its host is started.</summary>
internal sealed record AbSide(string Label, ServerSpec Spec, string? ServiceExtra);

/// <summary>
/// Two hosts side by side on one database, each client alternating between them request by request,
/// so both see the same machine state at the same moments; the latency ratio B/A is the result.
/// Both relays are off (the relay is one active instance per database: whichever host won the lock
/// would carry the other's relay work); the outbox simply grows during the run.
/// Used by `capture` (capture on vs off) and `ab` (any two settings, e.g. Max Auto Prepare).
/// </summary>
internal static class AbScenario
{
    public const string Emit = "emit";
    public const string Create = "create";

    /// <summary>
    /// The least warm-up before the first round. A host started for the run spends its first tens of seconds tiering
    /// up (measured: the JIT still took 3.5 % of a host's samples 35–55 s after its start); with a few seconds of
    /// warm-up the side with more code (capture on) was measured while still compiling.
    /// </summary>
    public static readonly TimeSpan FirstWarmup = TimeSpan.FromSeconds(60);

    public static async Task<ScenarioReport> RunAsync(
        BenchContext context, string title, string command, AbSide a, AbSide b, string request, double? budgetRatio, CancellationToken cancellationToken)
    {
        var clients = context.Options.Clients;
        var report = new ScenarioReport(title, command);
        await using var database = await BenchDatabase.CreateAsync(context.Environment, cancellationToken);
        await using var serverA = await context.StartServerAsync(database, WithoutRelay(a.Spec), a.ServiceExtra, cancellationToken);
        await using var serverB = await context.StartServerAsync(database, WithoutRelay(b.Spec), b.ServiceExtra, cancellationToken);
        using var apiA = new ApiClient(serverA.BaseAddress, serverA.ApiKey);
        using var apiB = new ApiClient(serverB.BaseAddress, serverB.ApiKey);
        var jobs = new Guid[clients];
        for (var i = 0; i < clients; i++)
        {
            (jobs[i], _) = await apiA.CreateJobAsync($"ab-{i}", cancellationToken);
        }

        var createBody = ApiClient.Utf8("""{"type":"ci","name":"build #7","metadata":{"branch":"main","commit":"4f2a9c1"}}""");
        var emitBody = ApiClient.Utf8($$"""{"type":"step.output","payload":{{Baseline.Payload}}}""");
        var (path, body) = request == Create
            ? ((Func<int, string>)(_ => "/api/runner-jobs"), createBody)
            : (w => $"/api/runner-jobs/{jobs[w]}/events", emitBody);
        report.Setup.Add($"**A** = {a.Label}; **B** = {b.Label}. Both on one fresh database, relay off on both (`JobTrail__Relay__Enabled=false`), rate limit raised.");
        report.Setup.Add($"request: `POST {(request == Create ? "/api/runner-jobs" : "/api/runner-jobs/{job}/events")}` with `{System.Text.Encoding.UTF8.GetString(body)}`" +
                         (request == Create ? string.Empty : " (one job per client)") +
                         $"; {clients} clients, each alternating A/B request by request (client k starts with A when k is even).");

        var settle = context.Warmup > FirstWarmup ? context.Warmup : FirstWarmup;
        report.Setup.Add($"warm-up: {settle.TotalSeconds:0} s before the first round (at least {FirstWarmup.TotalSeconds:0} s: each host's JIT is still tiering up its code " +
                         $"for tens of seconds after start, and the side with more code to tier up pays for it inside a shorter window), {context.Warmup.TotalSeconds:0} s before each later one.");
        for (var round = 1; round <= context.Options.Rounds; round++)
        {
            var suffix = context.Options.Rounds > 1 ? $" (round {round})" : string.Empty;
            var measured = await context.MeasureAsync($"{request}, A/B interleaved", clients,
                (w, i, ct) => ((w + i) % 2 == 0 ? apiA : apiB).PostAsync(path(w), body, ct),
                buckets: 2, bucketOf: (w, i) => (int)((w + i) % 2), round == 1 ? settle : context.Warmup, cancellationToken, serverA, serverB);
            var sideA = measured.Load.Buckets[0];
            var sideB = measured.Load.Buckets[1];
            var meanRatio = sideB.Mean / sideA.Mean;
            var p50Ratio = sideB.P50 / sideA.P50;
            var budget = budgetRatio is { } limit ? $"≤ {limit:0.00}×" : "—";
            report.Rows.Add(new ResultRow($"latency mean{suffix}", Fmt.Ms(sideB.Mean) + " (B)", Fmt.Ms(sideA.Mean) + " (A)", Fmt.Ratio(meanRatio),
                budget, budgetRatio is { } m ? Fmt.Verdict(meanRatio <= m) : "—"));
            report.Rows.Add(new ResultRow($"latency p50 / p95 / p99{suffix}",
                $"{Fmt.Ms(sideB.P50)} / {Fmt.Ms(sideB.P95)} / {Fmt.Ms(sideB.P99)} (B)",
                $"{Fmt.Ms(sideA.P50)} / {Fmt.Ms(sideA.P95)} / {Fmt.Ms(sideA.P99)} (A)",
                $"{Fmt.Ratio(p50Ratio)} / {Fmt.Ratio(sideB.P95 / sideA.P95)} / {Fmt.Ratio(sideB.P99 / sideA.P99)}",
                budget, budgetRatio is { } p ? Fmt.Verdict(p50Ratio <= p) + " (p50)" : "—"));
            report.Rows.Add(new ResultRow($"requests/s, both hosts together{suffix}", Fmt.N(measured.Load.PerSecond), "—", "—", "—", "—"));
            report.Rows.Add(new ResultRow($"failed requests / RSS max{suffix}",
                $"{measured.Load.Failed} / B {Fmt.N(measured.MaxRssPerServerMiB[1])} MiB",
                $"A {Fmt.N(measured.MaxRssPerServerMiB[0])} MiB", "—", "RSS ≤ 400 MB",
                Fmt.Verdict(measured.MaxRssPerServerMiB.Max() <= Rows.RssBudgetMiB)));
            report.Rows.Add(new ResultRow($"CPU, % of one core{suffix}", Rows.Cpu(measured.Cpu, "API (both hosts)", BenchContext.ApiLabel), "—", "—", "—", "—"));
            // Each host's own CPU over the requests it answered: µs of process CPU per request, side by side.
            var seconds = context.Options.Seconds;
            double PerRequest(int side, LatencySummary latency) => measured.CpuPerServer[side] / 100 * 1e6 / Math.Max(1, latency.Count / (double)seconds);
            report.Rows.Add(new ResultRow($"host CPU, % of one core / µs per request{suffix}",
                $"B {Fmt.N(measured.CpuPerServer[1])}% / {Fmt.N(PerRequest(1, sideB))} µs ({Fmt.N(sideB.Count / (double)seconds)}/s)",
                $"A {Fmt.N(measured.CpuPerServer[0])}% / {Fmt.N(PerRequest(0, sideA))} µs ({Fmt.N(sideA.Count / (double)seconds)}/s)",
                Fmt.Ratio(PerRequest(1, sideB) / PerRequest(0, sideA)), "—", "—"));
        }

        report.Notes.Add("Ratios are B/A: below 1.00× B is faster. Both sides share every moment of the run, so machine noise hits them alike; " +
                         "the CPU row cannot split the two hosts' share of PostgreSQL.");
        return report;
    }

    private static ServerSpec WithoutRelay(ServerSpec spec) =>
        spec with { Settings = new Dictionary<string, string>(spec.Settings, StringComparer.Ordinal) { ["JobTrail__Relay__Enabled"] = "false" } };
}
