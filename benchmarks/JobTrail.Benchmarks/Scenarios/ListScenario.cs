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
/// binary COPY, jobs interleaved as real traffic would be; the seeded database is kept and reused), then measures pages
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
        var jobs = (int)Math.Max(1, settings.Rows / settings.EventsPerJob);
        // The seed is kept between runs: a database per (rows, events per job), reused once its seed finished.
        var seedName = $"jt_seed_list_{(long)jobs * settings.EventsPerJob}_{settings.EventsPerJob}";
        var (database, existed) = await BenchDatabase.OpenKeptAsync(context.Environment, seedName, cancellationToken);
        // A finished seed is reused as it is; an unfinished one (stopped at --seed-max-seconds) is continued.
        var seed = existed ? await ReadSeedAsync(database, cancellationToken) : null;

        await using var kept = database;
        await using var server = await context.StartServerAsync(database, ServerSpec.Host(), cancellationToken);
        using var api = new ApiClient(server.BaseAddress, server.ApiKey);
        var (_, workspace) = await api.CreateJobAsync("list-probe", cancellationToken);

        seed ??= await SeedAsync(database, workspace, jobs, settings.EventsPerJob, TimeSpan.FromSeconds(settings.SeedMaxSeconds), cancellationToken);
        var perJob = seed.PerJob;
        report.Setup.Add($"{(seed.Reused ? $"reused the seed in database `{seedName}` (made by an earlier run" : $"seeded into database `{seedName}` (kept for later runs")} as the owner role with binary COPY, " +
                         $"events and activity on two connections at once, in {seed.Elapsed.TotalSeconds:0} s, then VACUUM ANALYZE): **{seed.Events:N0} events** ({jobs:N0} jobs × {perJob} events) and **{seed.Activities:N0} activity rows** " +
                         $"({jobs:N0} runner_job entities × {perJob}), jobs interleaved in insert order. " +
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

    private sealed record SeedResult(long Events, long Activities, int PerJob, TimeSpan Elapsed, string EventsSize, string ActivitySize, bool Reused);

    /// <summary>The seed's record in its database: written last, so a seed that did not finish is never reused.</summary>
    private const string SeedMarker = "public.bench_seed";

    private static async Task<SeedResult?> ReadSeedAsync(BenchDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            $"select events, activities, per_job, seconds, events_size, activity_size from {SeedMarker} where to_regclass('{SeedMarker}') is not null limit 1", connection);
        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            return await reader.ReadAsync(cancellationToken)
                ? new SeedResult(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt32(2), TimeSpan.FromSeconds(reader.GetDouble(3)), reader.GetString(4), reader.GetString(5), true)
                : null;
        }
        catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.UndefinedTable)
        {
            return null;
        }
    }

    /// <summary>
    /// Seeds with binary COPY as the owner role, events and activity rows on two connections at once, seq-major (each
    /// layer of rows touches every job, as interleaved real traffic would). Row-level security is forced on both tables,
    /// and COPY FROM refuses tables whose row-level security applies to the caller: it is unforced for the seed and
    /// forced again afterwards (this database only).
    /// </summary>
    private static async Task<SeedResult> SeedAsync(BenchDatabase database, Guid workspace, int jobs, int perJob, TimeSpan limit, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, $"select set_config('app.workspace_id', '{workspace}', false)", cancellationToken);
        var job = string.Format(CultureInfo.InvariantCulture, JobIdSql, "j");
        await ExecuteAsync(connection,
            $"insert into job_events.job_streams (job_id, workspace_id, last_seq, created_at) select {job}::uuid, '{workspace}', 0, now() from generate_series(1, {jobs}) j on conflict do nothing",
            cancellationToken);
        // Each COPY commits whole layers (every job's seq s), so a table's seeded rows / jobs = its layers done.
        const string Seeded = "select count(*) from {0} where correlation_id = 'seed-correlation'";
        var eventsBefore = await ScalarAsync(connection, string.Format(CultureInfo.InvariantCulture, Seeded, "job_events.events"), cancellationToken);
        var activitiesBefore = await ScalarAsync(connection, string.Format(CultureInfo.InvariantCulture, Seeded, "activity.activity_logs"), cancellationToken);
        if (eventsBefore + activitiesBefore > 0)
        {
            Console.Error.WriteLine($"[bench] continuing an unfinished seed: {eventsBefore:N0} events and {activitiesBefore:N0} activity rows are there");
        }

        const string Tables = "select c.oid::regclass::text from pg_class c where c.oid in ('job_events.events'::regclass, 'activity.activity_logs'::regclass) " +
                              "or c.oid in (select inhrelid from pg_inherits where inhparent in ('job_events.events'::regclass, 'activity.activity_logs'::regclass))";
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand(Tables, connection))
        await using (var reader = await list.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                tables.Add(reader.GetString(0));
            }
        }

        var monthStart = new DateTime(DateTime.UtcNow.Year, DateTime.UtcNow.Month, 1, 0, 0, 0, DateTimeKind.Utc);
        var span = Math.Max(60, (DateTime.UtcNow.AddMinutes(-1) - monthStart).TotalSeconds);
        var total = (double)jobs * perJob;
        DateTime At(long n) => monthStart.AddSeconds(n * span / total);
        var jobIds = Enumerable.Range(1, jobs).Select(JobId).ToArray();
        await ExecuteAsync(connection, string.Concat(tables.Select(t => $"alter table {t} no force row level security; ")), cancellationToken);
        long events, activities;
        try
        {
            var seeding = new[]
            {
                CopyAsync(database, "job_events.events (id, workspace_id, job_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at)",
                    async (writer, n, s, j, ct) =>
                    {
                        var at = At(n);
                        await writer.StartRowAsync(ct);
                        await writer.WriteAsync(IdOf(n), NpgsqlDbType.Uuid, ct);
                        await writer.WriteAsync(workspace, NpgsqlDbType.Uuid, ct);
                        await writer.WriteAsync(jobIds[j - 1], NpgsqlDbType.Uuid, ct);
                        await writer.WriteAsync((long)s, NpgsqlDbType.Bigint, ct);
                        await writer.WriteAsync("step.output", NpgsqlDbType.Text, ct);
                        await writer.WriteNullAsync(ct);
                        await writer.WriteAsync($$"""{"line": "Compiling file {{s}} of {{perJob}}"}""", NpgsqlDbType.Jsonb, ct);
                        await writer.WriteAsync("runner:seed", NpgsqlDbType.Text, ct);
                        await writer.WriteAsync("seed-correlation", NpgsqlDbType.Text, ct);
                        await writer.WriteAsync(at, NpgsqlDbType.TimestampTz, ct);
                        await writer.WriteAsync(at, NpgsqlDbType.TimestampTz, ct);
                    }, "events", jobs, (int)(eventsBefore / jobs) + 1, perJob, watch, limit, cancellationToken),
                CopyAsync(database, "activity.activity_logs (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, ip_address, user_agent, correlation_id, occurred_at)",
                    async (writer, n, s, j, ct) =>
                    {
                        await writer.StartRowAsync(ct);
                        await writer.WriteAsync(IdOf(n), NpgsqlDbType.Uuid, ct);
                        await writer.WriteAsync(workspace, NpgsqlDbType.Uuid, ct);
                        await writer.WriteAsync("runner:seed-" + (j % 50).ToString(CultureInfo.InvariantCulture), NpgsqlDbType.Text, ct);
                        await writer.WriteAsync(Actions[s % 4], NpgsqlDbType.Text, ct);
                        await writer.WriteAsync("runner_job", NpgsqlDbType.Text, ct);
                        await writer.WriteAsync(jobIds[j - 1].ToString(), NpgsqlDbType.Text, ct);
                        await writer.WriteAsync("SUCCEEDED", NpgsqlDbType.Text, ct);
                        await writer.WriteAsync($$"""{"status": "RUNNING", "step": {{s}}}""", NpgsqlDbType.Jsonb, ct);
                        await writer.WriteAsync(System.Net.IPAddress.Loopback, NpgsqlDbType.Inet, ct);
                        await writer.WriteAsync("jobtrail-bench-seed", NpgsqlDbType.Text, ct);
                        await writer.WriteAsync("seed-correlation", NpgsqlDbType.Text, ct);
                        await writer.WriteAsync(At(n), NpgsqlDbType.TimestampTz, ct);
                    }, "activity rows", jobs, (int)(activitiesBefore / jobs) + 1, perJob, watch, limit, cancellationToken),
            };
            var counts = await Task.WhenAll(seeding);
            (events, activities) = (eventsBefore + counts[0], activitiesBefore + counts[1]);
        }
        finally
        {
            await ExecuteAsync(connection, string.Concat(tables.Select(t => $"alter table {t} force row level security; ")), CancellationToken.None);
        }

        var layers = (int)(Math.Min(events, activities) / jobs);
        // The head may only advance (a trigger refuses a rewind): raise it to what is seeded, never lower it.
        await ExecuteAsync(connection, $"update job_events.job_streams set last_seq = {events / jobs} where last_seq < {events / jobs} and job_id::text like '00000000-0000-4000-8000-%'", cancellationToken);
        Console.Error.WriteLine($"[bench] seeded {events:N0} events and {activities:N0} activity rows in {watch.Elapsed.TotalSeconds:0} s; vacuum analyze");
        await ExecuteAsync(connection, "vacuum (analyze) job_events.job_streams", cancellationToken);
        await ExecuteAsync(connection, "vacuum (analyze) job_events.events", cancellationToken);
        await ExecuteAsync(connection, "vacuum (analyze) activity.activity_logs", cancellationToken);
        string eventsSize, activitySize;
        await using (var sizes = new NpgsqlCommand(
            """
            select pg_size_pretty((select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = 'job_events.events'::regclass)::bigint),
                   pg_size_pretty((select sum(pg_total_relation_size(inhrelid)) from pg_inherits where inhparent = 'activity.activity_logs'::regclass)::bigint)
            """, connection))
        await using (var reader = await sizes.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (eventsSize, activitySize) = (reader.GetString(0), reader.GetString(1));
        }

        var result = new SeedResult(events, activities, layers, watch.Elapsed, eventsSize, activitySize, false);
        if (layers == perJob)
        {
            await ExecuteAsync(connection,
                $"create table {SeedMarker} as select {events}::bigint as events, {activities}::bigint as activities, {perJob} as per_job, " +
                $"{watch.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)}::float8 as seconds, '{eventsSize}'::text as events_size, '{activitySize}'::text as activity_size",
                cancellationToken);
        }

        return result;
    }

    private static readonly string[] Actions = ["runner_job.status_changed", "job_step.created", "job_step.status_changed", "job_event.batch_emitted"];

    private static Guid IdOf(long n) => Guid.Parse(n.ToString("x32", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>One binary COPY of layers s = fromLayer..perJob × jobs j = 1..jobs (row n = s·jobs + j); stops after a layer once the time limit passed.</summary>
    private static async Task<long> CopyAsync(
        BenchDatabase database, string target, Func<NpgsqlBinaryImporter, long, int, int, CancellationToken, Task> row, string what,
        int jobs, int fromLayer, int perJob, Stopwatch watch, TimeSpan limit, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var writer = await connection.BeginBinaryImportAsync($"copy {target} from stdin (format binary)", cancellationToken);
        writer.Timeout = TimeSpan.FromMinutes(30);
        long rows = 0;
        for (var s = fromLayer; s <= perJob && watch.Elapsed < limit; s++)
        {
            for (var j = 1; j <= jobs; j++)
            {
                await row(writer, ((long)s * jobs) + j, s, j, cancellationToken);
            }

            rows += jobs;
            if (rows % 1_000_000 < jobs)
            {
                Console.Error.WriteLine($"[bench] {what}: {rows:N0} copied ({watch.Elapsed.TotalSeconds:0} s)");
            }
        }

        await writer.CompleteAsync(cancellationToken);
        return rows;
    }

    private static async Task<long> ScalarAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 600 };
        return Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
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
