using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;
using JobTrail.Benchmarks.Reporting;

namespace JobTrail.Benchmarks.Scenarios;

/// <summary>
/// `emit`: N clients each POST single step.output events to their own job, then all into one job;
/// beside each, pgbench doing the same single-row INSERT at the same concurrency for the same time.
/// Budget (DESIGN §8): ≥ 1.0× pgbench's TPS at 16 clients.
/// </summary>
internal static class EmitScenario
{
    public static async Task<ScenarioReport> RunAsync(BenchContext context, CancellationToken cancellationToken)
    {
        var clients = context.Options.Clients;
        var report = new ScenarioReport($"emit: single events, {clients} concurrent clients{Instances(context)}", context.Command("emit", $"--clients {clients}"));
        await using var database = await BenchDatabase.CreateAsync(context.Environment, cancellationToken);
        var servers = await context.StartServersAsync(database, ServerSpec.Host(), cancellationToken);
        var server = servers[0];
        var apis = servers.Select(s => new ApiClient(s.BaseAddress, server.ApiKey)).ToArray();
        try
        {
            var api = apis[0];
            var jobs = new Guid[clients];
            var workspace = Guid.Empty;
            for (var i = 0; i < clients; i++)
            {
                (jobs[i], workspace) = await api.CreateJobAsync($"emit-{i}", cancellationToken);
            }

            var (sharedJob, _) = await api.CreateJobAsync("emit-shared", cancellationToken);
            await Baseline.CreateEventsTableAsync(database, cancellationToken);
            var pgbench = context.PgBenchFor(database.OwnerConnectionString);
            var body = ApiClient.Utf8($$"""{"type":"step.output","payload":{{Baseline.Payload}}}""");
            var ownPaths = jobs.Select(j => $"/api/runner-jobs/{j}/events").ToArray();
            var sharedPath = $"/api/runner-jobs/{sharedJob}/events";

            report.Setup.Add($"API: JobTrail.Host.dll (Release, ASPNETCORE_ENVIRONMENT=Production) on a fresh database, rate limit raised for the one benchmark key; body `{{\"type\":\"step.output\",\"payload\":{Baseline.Payload}}}` ({body.Length} bytes), no Idempotency-Key.");
            report.Setup.Add("baseline: pgbench -M prepared, one autocommitted single-row INSERT into `bench.events` (a copy of `job_events.events` with LIKE … INCLUDING ALL: same columns, jsonb payload, primary key, unique (job_id, seq), unique position), same client count and measured duration (its warm-up is 1 s: nothing to compile), same database, API idle meanwhile.");

            var ownRatios = new List<double>();
            for (var round = 1; round <= context.Options.Rounds; round++)
            {
                var suffix = context.Options.Rounds > 1 ? $" (round {round})" : string.Empty;
                var own = await context.MeasureAsync("emit, own job per client", clients,
                    (w, _, ct) => apis[w % apis.Length].PostAsync(ownPaths[w], body, ct), cancellationToken, servers);
                await Baseline.TruncateAsync(database, cancellationToken);
                var pgOwn = await context.PgBenchAsync(pgbench, "emit-own", Baseline.SingleInsertScript(workspace, perClient: true), clients, cancellationToken);
                AddRows(report, $"own job per client{suffix}", own, pgOwn, budget: true);
                ownRatios.Add(own.Load.PerSecond / pgOwn.Tps);

                if (context.Options.Diagnose)
                {
                    // Where the gap is: the database side of an emit alone (the group writer's statements
                    // for a group of one), from pgbench, with and without the group's NOTIFY.
                    var appSql = context.PgBenchFor(database.ServiceConnectionString);
                    var diagnosticDuration = context.Duration / 2;
                    var withNotify = await context.PgBenchAsync(appSql, "emit-write-set", Baseline.GroupWriteScript(workspace, jobs, notify: true), clients, cancellationToken, diagnosticDuration);
                    var withoutNotify = await context.PgBenchAsync(appSql, "emit-write-set-no-notify", Baseline.GroupWriteScript(workspace, jobs, notify: false), clients, cancellationToken, diagnosticDuration);
                    report.Rows.Add(new ResultRow($"diagnostic{suffix}: an emit's write set, one commit each, from pgbench (own job per client)",
                        $"{Fmt.N(own.Load.PerSecond)} events/s (API)", $"{Fmt.N(withNotify.Tps)} tps, p50 {Fmt.Ms(withNotify.Latency.P50)}",
                        Fmt.Ratio(own.Load.PerSecond / withNotify.Tps), "—", "—"));
                    report.Rows.Add(new ResultRow($"diagnostic{suffix}: the same write set without the NOTIFY",
                        $"{Fmt.N(withNotify.Tps)} tps (with NOTIFY)", $"{Fmt.N(withoutNotify.Tps)} tps, p50 {Fmt.Ms(withoutNotify.Latency.P50)}",
                        Fmt.Ratio(withNotify.Tps / withoutNotify.Tps), "—", "—"));
                }

                var shared = await context.MeasureAsync("emit, one job for all clients", clients,
                    (w, _, ct) => apis[w % apis.Length].PostAsync(sharedPath, body, ct), cancellationToken, servers);
                await Baseline.TruncateAsync(database, cancellationToken);
                var pgShared = await context.PgBenchAsync(pgbench, "emit-shared", Baseline.SingleInsertScript(workspace, perClient: false), clients, cancellationToken);
                AddRows(report, $"all clients into one job{suffix}", shared, pgShared, budget: false);
                report.Notes.Add($"pgbench{suffix}: `{pgOwn.CommandLine}`");
            }

            if (ownRatios.Count > 1)
            {
                var median = ownRatios.Order().ElementAt(ownRatios.Count / 2);
                report.Rows.Insert(0, new ResultRow($"own job per client: events/s ratio, median of {ownRatios.Count} rounds", "—", "—", Fmt.Ratio(median), "≥ 1.0×", Fmt.Verdict(median >= 1.0)));
            }
        }
        finally
        {
            foreach (var client in apis)
            {
                client.Dispose();
            }

            await BenchContext.StopServersAsync(servers);
        }

        if (servers.Length > 1)
        {
            report.Setup.Add($"{servers.Length} API instances on the one database (each with its relay), client i sends to instance i mod {servers.Length}; the API's CPU and RSS are the sum over the instances.");
        }

        if (context.Options.Diagnose)
        {
            report.Notes.Add("Diagnostic rows: pgbench replays, as the service role on the real tables, the database side of one emit as the group writer sends it for a group of one, " +
                             "in its two round trips (BEGIN + workspace setting + the append that locks and advances the stream row and inserts the event and its outbox row; then the chain link, " +
                             "the stream head, the NOTIFY for other instances and COMMIT), once as is and once without the NOTIFY: what PostgreSQL takes for the write set without the API and without grouping. " +
                             "The API's relay is running meanwhile and relays and deletes the outbox rows these fill, as it does for the API's own emits. These two runs last half the measured time.");
        }

        report.Notes.Add("One job for all clients serialises every append on that job's stream row (seq order = commit order), so it cannot scale with clients; the budget applies to the own-job case. Its baseline is the same plain INSERT (no row lock), shown for scale.");
        return report;
    }

    private static string Instances(BenchContext context) => context.Options.Instances > 1 ? $" over {context.Options.Instances} instances" : string.Empty;

    private static void AddRows(ScenarioReport report, string variant, ApiMeasurement api, PgBenchResult pg, bool budget)
    {
        var ratio = api.Load.PerSecond / pg.Tps;
        report.Rows.Add(new ResultRow($"{variant}: events/s", Fmt.N(api.Load.PerSecond), $"{Fmt.N(pg.Tps)} tps", Fmt.Ratio(ratio),
            budget ? "≥ 1.0×" : "—", budget ? Fmt.Verdict(ratio >= 1.0) : "—"));
        report.Rows.Add(new ResultRow($"{variant}: latency p50 / p95 / p99",
            $"{Fmt.Ms(api.Load.Latency.P50)} / {Fmt.Ms(api.Load.Latency.P95)} / {Fmt.Ms(api.Load.Latency.P99)}",
            $"{Fmt.Ms(pg.Latency.P50)} / {Fmt.Ms(pg.Latency.P95)} / {Fmt.Ms(pg.Latency.P99)}",
            Fmt.Ratio(api.Load.Latency.P50 / pg.Latency.P50) + " (p50)", "—", "—"));
        Rows.AddResourceRows(report, variant, api, pg);
    }
}
