using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;
using JobTrail.Benchmarks.Reporting;

namespace JobTrail.Benchmarks.Scenarios;

/// <summary>
/// `batch`: N clients each POST 100-event batches to their own job; beside it, pgbench inserting
/// 100-row multi-VALUES batches. Budget (DESIGN §8): ≥ 0.8× pgbench's rows/s.
/// </summary>
internal static class BatchScenario
{
    public static async Task<ScenarioReport> RunAsync(BenchContext context, int batchSize, CancellationToken cancellationToken)
    {
        var clients = context.Options.Clients;
        var report = new ScenarioReport($"batch: {batchSize}-event batches, {clients} concurrent clients",
            context.Command("batch", $"--clients {clients} --batch-size {batchSize}"));
        await using var database = await BenchDatabase.CreateAsync(context.Environment, cancellationToken);
        await using (var server = await context.StartServerAsync(database, ServerSpec.Host(), cancellationToken))
        {
            using var api = new ApiClient(server.BaseAddress, server.ApiKey);
            var paths = new string[clients];
            var workspace = Guid.Empty;
            for (var i = 0; i < clients; i++)
            {
                (var job, workspace) = await api.CreateJobAsync($"batch-{i}", cancellationToken);
                paths[i] = $"/api/runner-jobs/{job}/events/batch";
            }

            await Baseline.CreateEventsTableAsync(database, cancellationToken);
            var pgbench = context.PgBenchFor(database.OwnerConnectionString);
            var events = string.Join(',', Enumerable.Repeat($$"""{"type":"step.output","payload":{{Baseline.Payload}}}""", batchSize));
            var body = ApiClient.Utf8($$"""{"events":[{{events}}]}""");
            report.Setup.Add($"API: JobTrail.Host.dll on a fresh database; each request `POST …/events/batch` with {batchSize} step.output events ({body.Length} bytes); a batch is also one activity row (`job_event.batch_emitted`).");
            report.Setup.Add($"baseline: pgbench -M prepared, one autocommitted {batchSize}-row multi-VALUES INSERT into `bench.events` (same shape and indexes as `job_events.events`).");

            for (var round = 1; round <= context.Options.Rounds; round++)
            {
                var suffix = context.Options.Rounds > 1 ? $" (round {round})" : string.Empty;
                var measured = await context.MeasureAsync($"batch of {batchSize}", clients, (w, _, ct) => api.PostAsync(paths[w], body, ct), cancellationToken, server);
                await Baseline.TruncateAsync(database, cancellationToken);
                var pg = await context.PgBenchAsync(pgbench, "batch", Baseline.BatchInsertScript(workspace, batchSize), clients, cancellationToken);
                var apiRows = measured.Load.PerSecond * batchSize;
                var pgRows = pg.Tps * batchSize;
                var ratio = apiRows / pgRows;
                report.Rows.Add(new ResultRow($"rows/s{suffix}", Fmt.N(apiRows), Fmt.N(pgRows), Fmt.Ratio(ratio), "≥ 0.8×", Fmt.Verdict(ratio >= 0.8)));
                report.Rows.Add(new ResultRow($"batch latency p50 / p95 / p99{suffix}",
                    $"{Fmt.Ms(measured.Load.Latency.P50)} / {Fmt.Ms(measured.Load.Latency.P95)} / {Fmt.Ms(measured.Load.Latency.P99)}",
                    $"{Fmt.Ms(pg.Latency.P50)} / {Fmt.Ms(pg.Latency.P95)} / {Fmt.Ms(pg.Latency.P99)}",
                    Fmt.Ratio(measured.Load.Latency.P50 / pg.Latency.P50) + " (p50)", "—", "—"));
                Rows.AddResourceRows(report, "batch" + suffix, measured, pg);
                report.Notes.Add($"pgbench{suffix}: `{pg.CommandLine}`");
            }
        }

        return report;
    }
}
