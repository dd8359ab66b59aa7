using System.Globalization;
using System.Text;
using JobTrail.Benchmarks.Infra;
using Npgsql;

namespace JobTrail.Benchmarks.Scenarios;

/// <summary>
/// The pgbench side: <c>bench.events</c> is <c>job_events.events</c> copied with LIKE … INCLUDING ALL
/// (same columns, jsonb payload, CHECKs, identity, primary key, unique (job_id, seq), unique position
/// and the partial idempotency index), without row-level security and triggers.
/// </summary>
internal static class Baseline
{
    public const string Payload = """{"line":"Compiling src/JobTrail.Host/Program.cs (42/100)"}""";

    public static async Task CreateEventsTableAsync(BenchDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            """
            create schema if not exists bench;
            drop table if exists bench.events;
            create table bench.events (like job_events.events including all);
            create sequence if not exists bench.events_seq;
            """, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task TruncateAsync(BenchDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        foreach (var sql in new[] { "truncate bench.events", "vacuum analyze bench.events" })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The job of pgbench client <c>:client_id</c> (own job), or one job for every client.</summary>
    private static string Job(bool perClient) =>
        perClient ? "('00000000-0000-4000-8000-' || lpad(:client_id::text, 12, '0'))::uuid" : "'00000000-0000-4000-8000-000000000abc'::uuid";

    // No ':' in literals: pgbench would read ":name" as a variable.
    private static string Row(Guid workspace, bool perClient) =>
        $"(gen_random_uuid(), '{workspace}', {Job(perClient)}, nextval('bench.events_seq'), 'step.output', null, '{Payload}', " +
        "'system-bootstrap', 'bench0000000000000000000000000000', now(), now(), null)";

    private const string Insert =
        "insert into bench.events (id, workspace_id, job_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key)";

    /// <summary>One event per transaction: a single-row INSERT, autocommitted.</summary>
    public static string SingleInsertScript(Guid workspace, bool perClient) =>
        $"{Insert}\nvalues {Row(workspace, perClient)};\n";

    /// <summary><paramref name="rows"/> events per transaction: one multi-VALUES INSERT, autocommitted.</summary>
    public static string BatchInsertScript(Guid workspace, int rows)
    {
        var script = new StringBuilder(Insert).Append("\nvalues\n");
        for (var i = 0; i < rows; i++)
        {
            script.Append(CultureInfo.InvariantCulture, $"  {Row(workspace, perClient: true)}{(i == rows - 1 ? ";" : ",")}\n");
        }

        return script.ToString();
    }

    /// <summary>
    /// Diagnostic: the database side of one emit as the group writer (GroupCommitWriter) sends it for a
    /// group of one, replayed by pgbench as the service role against the real tables, in the writer's two
    /// round trips: (1) BEGIN, the workspace setting and the append statement (without an Idempotency-Key, as
    /// the benchmark sends none: advance and so lock the stream row, insert the event and its outbox row),
    /// pipelined; (2) the chain link, the stream head,
    /// the NOTIFY for other instances and COMMIT, pipelined. The link's seq is read back from the locked
    /// stream row (the writer knows it from the append's result); its digests are constants (the writer
    /// computes them in the API). With <paramref name="notify"/> false the NOTIFY is left out. Mirrors
    /// src/Modules/JobEvents/…/Persistence/GroupCommitWriter.cs and EventLog.cs: change it with them.
    /// </summary>
    public static string GroupWriteScript(Guid workspace, IReadOnlyList<Guid> jobs, bool notify)
    {
        var job = jobs.Count == 1
            ? $"'{jobs[0]}'::uuid"
            : $"(array[{string.Join(", ", jobs.Select(j => $"'{j}'"))}]::uuid[])[:client_id::int % {jobs.Count} + 1]";
        var hash = "'\\x" + new string('a', 64) + "'::bytea";
        return $"""
            \startpipeline
            begin isolation level read committed;
            select set_config('app.workspace_id', '{workspace}', true);
            with s as (
                update job_events.job_streams
                set last_seq = last_seq + 1
                where job_id = {job} and workspace_id = '{workspace}' and sealed_at is null
                returning last_seq - 1 as base, last_hash
            ),
            e as (
                insert into job_events.events
                    (id, workspace_id, job_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key)
                select u.id, '{workspace}', {job}, s.base + u.ord, u.type, u.step_id, u.payload::jsonb, 'system-bootstrap', 'bench0000000000000000000000000000',
                       coalesce(u.occurred_at, now()), now(), null
                from s cross join unnest(array[gen_random_uuid()], array['step.output'], array[null::uuid], array['{Payload}'], array[null::timestamptz])
                    with ordinality as u(id, type, step_id, payload, occurred_at, ord)
                returning id, job_id, workspace_id, seq, type, step_id, payload, actor_id, correlation_id, occurred_at, recorded_at
            ),
            o as (
                insert into job_events.outbox (event_id, workspace_id, job_id, seq, last_seq, created_at, trace_parent)
                select id, workspace_id, job_id, seq, seq, recorded_at, null from e order by seq
            )
            select e.id, e.job_id, e.workspace_id, e.seq, e.type, e.step_id, e.payload::text, e.actor_id, e.correlation_id,
                   e.occurred_at, e.recorded_at, s.last_hash
            from e cross join s
            order by e.seq;
            \endpipeline
            \startpipeline
            insert into job_events.event_links (workspace_id, job_id, seq, occurred_at, row_digest, prev_hash, hash, key_id)
            select '{workspace}', js.job_id, js.last_seq, now(), {hash}, js.last_hash, {hash}, 'bench'
            from job_events.job_streams js where js.job_id = {job};
            update job_events.job_streams js set last_hash = {hash} where js.job_id = {job} and js.workspace_id = '{workspace}';
            {(notify ? "select pg_notify('job_events', '');" : string.Empty)}
            commit;
            \endpipeline

            """;
    }
}
