using System.Diagnostics;
using System.Globalization;
using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Load;
using JobTrail.Benchmarks.Reporting;
using Npgsql;
using NpgsqlTypes;

namespace JobTrail.Benchmarks.Scenarios;

internal sealed record ListSettings(long Rows, int EventsPerJob, int SeedMaxSeconds);

/// <summary>
/// `list`: seeds job_events.events and activity.activity_logs with many rows (as the owner role,
/// INSERT … SELECT generate_series, jobs interleaved as real traffic would be), then measures pages
/// of 100 through the API beside pgbench running the same SQL, in the same transaction shape, as
/// the service role. Budget (DESIGN §8): p99 ≤ 10 ms over 10 M rows.
/// </summary>
internal static class ListScenario
{
    private const string JobIdSql = "('00000000-0000-4000-8000-' || lpad(to_hex({0}), 12, '0'))";

    private const string Begin = """
        \startpipeline
        begin isolation level read committed;
        set transaction read only;
        select set_config('app.workspace_id', '{0}', true);
        \endpipeline
        """;

    public static Guid JobId(int j) => Guid.Parse($"00000000-0000-4000-8000-{j:x12}", CultureInfo.InvariantCulture);

    public static async Task<ScenarioReport> RunAsync(BenchContext context, ListSettings settings, CancellationToken cancellationToken)
    {
        var clients = context.Options.Clients;
        var report = new ScenarioReport($"list: pages of 100 over a large table, {clients} concurrent reader{(clients == 1 ? string.Empty : "s")}",
            context.Command("list", $"--clients {clients} --rows {settings.Rows} --events-per-job {settings.EventsPerJob}"));
        await using var database = await BenchDatabase.CreateAsync(context.Environment, cancellationToken);
        await using var server = await context.StartServerAsync(database, ServerSpec.Host(), cancellationToken);
        using var api = new ApiClient(server.BaseAddress, server.ApiKey);
        var (_, workspace) = await api.CreateJobAsync("list-probe", cancellationToken);

        var jobs = (int)Math.Max(1, settings.Rows / settings.EventsPerJob);
        var seed = await SeedAsync(database, workspace, jobs, settings.EventsPerJob, TimeSpan.FromSeconds(settings.SeedMaxSeconds), cancellationToken);
        var perJob = seed.PerJob;
        report.Setup.Add($"seeded as the owner role with INSERT … SELECT generate_series: **{seed.Events:N0} events** ({jobs:N0} jobs × {perJob} events) and **{seed.Activities:N0} activity rows** " +
                         $"({jobs:N0} runner_job entities × {perJob}), jobs interleaved in insert order, in {seed.Elapsed.TotalSeconds:0} s; then ANALYZE. " +
                         $"Sizes with indexes: events {seed.EventsSize}, activity {seed.ActivitySize}. (The design's budget is stated for 10 M rows.)");
        report.Setup.Add("API: JobTrail.Host.dll; each request picks a random job (and for events a random `afterSeq`, i.e. a random keyset page).");
        report.Setup.Add("baseline: pgbench -M prepared as the service role (row-level security on), running the SQL the API runs in the same transaction shape " +
                         "(pipelined `BEGIN; SET TRANSACTION READ ONLY; set_config(app.workspace_id)`, the query, `COMMIT`) — i.e. the database's share of the request.");

        var pgbench = context.PgBenchFor(database.ServiceConnectionString);
        var maxAfter = Math.Max(0, perJob - 100);
        var cases = new (string Name, Func<string> Path, string Script)[]
        {
            ("events page (100, random job and afterSeq)",
                () => $"/api/runner-jobs/{JobId(Random.Shared.Next(1, jobs + 1))}/events?limit=100&afterSeq={Random.Shared.Next(0, maxAfter + 1)}",
                EventsScript(workspace, jobs, maxAfter)),
            ("audit trail page (100, random job)",
                () => $"/api/activity/audit/runner_job/{JobId(Random.Shared.Next(1, jobs + 1))}?limit=100",
                AuditScript(workspace, jobs)),
            ("activity list page (100, newest first)",
                () => "/api/activity?limit=100",
                ActivityListScript(workspace)),
        };
        for (var round = 1; round <= context.Options.Rounds; round++)
        {
            var suffix = context.Options.Rounds > 1 ? $" (round {round})" : string.Empty;
            foreach (var (name, path, script) in cases)
            {
                var measured = await context.MeasureAsync(name, clients, (_, _, ct) => api.GetAsync(path(), ct), cancellationToken, server);
                var pg = await context.PgBenchAsync(pgbench, "list-" + name.Split(' ')[0], script, clients, cancellationToken);
                var l = measured.Load.Latency;
                report.Rows.Add(new ResultRow($"{name}{suffix}: p50 / p95 / p99",
                    $"{Fmt.Ms(l.P50)} / {Fmt.Ms(l.P95)} / {Fmt.Ms(l.P99)}",
                    $"{Fmt.Ms(pg.Latency.P50)} / {Fmt.Ms(pg.Latency.P95)} / {Fmt.Ms(pg.Latency.P99)}",
                    Fmt.Ratio(l.P99 / pg.Latency.P99) + " (p99)", "p99 ≤ 10 ms", Fmt.Verdict(l.P99 <= 10)));
                report.Rows.Add(new ResultRow($"{name}{suffix}: requests/s", Fmt.N(measured.Load.PerSecond), $"{Fmt.N(pg.Tps)} tps",
                    Fmt.Ratio(measured.Load.PerSecond / pg.Tps), "—", "—"));
                Rows.AddResourceRows(report, name + suffix, measured, pg);
            }
        }

        report.Notes.Add($"pgbench: `{PgBenchLine(context, clients)}`; scripts in the tool's work directory.");
        return report;
    }

    private static string PgBenchLine(BenchContext context, int clients) =>
        $"pgbench -n -M prepared -c {clients} -j {Math.Min(clients, Environment.ProcessorCount)} -T {context.Options.Seconds} -f list-<case>.sql -l";

    private static string EventsScript(Guid workspace, int jobs, int maxAfter)
    {
        var job = string.Format(CultureInfo.InvariantCulture, JobIdSql, ":j::int");
        return $"""
            \set j random(1, {jobs})
            \set a random(0, {maxAfter})
            {string.Format(CultureInfo.InvariantCulture, Begin, workspace)}
            \startpipeline
            select 1 from job_events.job_streams where workspace_id = '{workspace}' and job_id = {job}::uuid;
            select id, job_id, workspace_id, seq, type, step_id, payload::text, actor_id, correlation_id, occurred_at, recorded_at from job_events.events where workspace_id = '{workspace}' and job_id = {job}::uuid and seq > :a order by seq limit 101;
            \endpipeline
            commit;

            """;
    }

    private static string AuditScript(Guid workspace, int jobs)
    {
        var job = string.Format(CultureInfo.InvariantCulture, JobIdSql, ":j::int");
        return $"""
            \set j random(1, {jobs})
            {string.Format(CultureInfo.InvariantCulture, Begin, workspace)}
            select id, position, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent, correlation_id, occurred_at from activity.activity_logs where workspace_id = '{workspace}' and entity_type = 'runner_job' and entity_id = {job} order by position limit 101;
            commit;

            """;
    }

    private static string ActivityListScript(Guid workspace) =>
        $"""
        {string.Format(CultureInfo.InvariantCulture, Begin, workspace)}
        select id, position, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent, correlation_id, occurred_at from activity.activity_logs where workspace_id = '{workspace}' order by position desc limit 101;
        commit;

        """;

    private sealed record SeedResult(long Events, long Activities, int PerJob, TimeSpan Elapsed, string EventsSize, string ActivitySize);

    private static async Task<SeedResult> SeedAsync(BenchDatabase database, Guid workspace, int jobs, int perJob, TimeSpan limit, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        // Row-level security is forced on these tables, for their owner too: act as the workspace.
        await ExecuteAsync(connection, $"select set_config('app.workspace_id', '{workspace}', false)", cancellationToken);
        var job = string.Format(CultureInfo.InvariantCulture, JobIdSql, "j");
        await ExecuteAsync(connection,
            $"insert into job_events.job_streams (job_id, workspace_id, last_seq, created_at) select {job}::uuid, '{workspace}', 0, now() from generate_series(1, {jobs}) j",
            cancellationToken);

        var monthStart = new DateTime(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        var span = Math.Max(60, (DateTime.UtcNow.AddMinutes(-1) - monthStart).TotalSeconds);
        var total = (double)jobs * perJob;
        // Chunks of about 200,000 rows, seq-major so that each chunk touches every job.
        var chunk = Math.Max(1, 200_000 / jobs);
        var done = 0;
        while (done < perJob && watch.Elapsed < limit)
        {
            var from = done + 1;
            var to = Math.Min(perJob, done + chunk);
            var n = $"(s::bigint * {jobs} + j)";
            var at = $"(@t0 + make_interval(secs => {n} * @span / @total))";
            await ExecuteAsync(connection,
                $"""
                insert into job_events.events (id, workspace_id, job_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at)
                select lpad(to_hex({n}), 32, '0')::uuid, '{workspace}', {job}::uuid, s, 'step.output', null,
                       jsonb_build_object('line', 'Compiling file ' || s || ' of {perJob}'), 'runner:seed', 'seed-correlation', {at}, {at}
                from generate_series({from}, {to}) s cross join generate_series(1, {jobs}) j
                """, cancellationToken, monthStart, span, total);
            await ExecuteAsync(connection,
                $"""
                insert into activity.activity_logs (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent, correlation_id, occurred_at)
                select lpad(to_hex({n}), 32, '0')::uuid, '{workspace}', 'runner:seed-' || (j % 50),
                       (array['runner_job.status_changed', 'job_step.created', 'job_step.status_changed', 'job_event.batch_emitted'])[1 + s % 4],
                       'runner_job', {job}, 'SUCCEEDED', jsonb_build_object('status', 'RUNNING', 'step', s), '127.0.0.1'::inet, 'jobtrail-bench-seed',
                       'seed-correlation', {at}
                from generate_series({from}, {to}) s cross join generate_series(1, {jobs}) j
                """, cancellationToken, monthStart, span, total);
            done = to;
            Console.Error.WriteLine($"[bench] seeded {(long)done * jobs:N0} events and as many activity rows ({watch.Elapsed.TotalSeconds:0} s)");
        }

        await ExecuteAsync(connection, $"update job_events.job_streams set last_seq = {done}", cancellationToken);
        await ExecuteAsync(connection, "analyze job_events.events; analyze job_events.job_streams; analyze activity.activity_logs", cancellationToken);
        await using var sizes = new NpgsqlCommand(
            """
            select pg_size_pretty(pg_total_relation_size('job_events.events')),
                   pg_size_pretty((select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = 'activity.activity_logs'::regclass)::bigint)
            """, connection);
        await using var reader = await sizes.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new SeedResult((long)done * jobs, (long)done * jobs, done, watch.Elapsed, reader.GetString(0), reader.GetString(1));
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, DateTime? t0 = null, double span = 0, double total = 0)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        if (t0 is { } start)
        {
            command.Parameters.Add(new NpgsqlParameter("t0", NpgsqlDbType.TimestampTz) { Value = start });
            command.Parameters.Add(new NpgsqlParameter("span", NpgsqlDbType.Double) { Value = span });
            command.Parameters.Add(new NpgsqlParameter("total", NpgsqlDbType.Double) { Value = total });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
