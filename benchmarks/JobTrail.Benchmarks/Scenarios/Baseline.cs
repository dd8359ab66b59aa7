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
    /// Diagnostic: what the API itself sends to PostgreSQL for one emit, replayed by pgbench as the
    /// service role against the real tables: the API-key lookup, then (pipelined) BEGIN and the
    /// workspace setting, the append statement of JobEventStore (lock and advance the stream row,
    /// insert the event and its outbox row, NOTIFY), COMMIT. With <paramref name="notify"/> false the
    /// NOTIFY is left out. Copied from src/Modules/JobEvents/…/Persistence/JobEventStore.cs.
    /// </summary>
    public static string ApiAppendScript(Guid workspace, Guid keyId, IReadOnlyList<Guid> jobs, bool notify)
    {
        var job = jobs.Count == 1
            ? $"'{jobs[0]}'::uuid"
            : $"(array[{string.Join(", ", jobs.Select(j => $"'{j}'"))}]::uuid[])[:client_id::int % {jobs.Count} + 1]";
        var n = notify ? $"select pg_notify('job_events', ({job})::text) where exists (select from s)" : "select 1 where exists (select from s)";
        return $"""
            select workspace_id, actor_id, scopes, secret_hash, revoked from access.find_api_key('{keyId}');
            \startpipeline
            begin isolation level read committed;
            select set_config('app.workspace_id', '{workspace}', true);
            \endpipeline
            with k as (
                insert into job_events.idempotency_keys (job_id, idempotency_key, workspace_id, request_hash, created_at)
                select {job}, null::text, '{workspace}', null::bytea, now() where null::text is not null
                on conflict (job_id, idempotency_key) do nothing
                returning 1
            ),
            s as (
                update job_events.job_streams
                set last_seq = last_seq + 1, sealed_at = null
                where job_id = {job} and sealed_at is null
                returning last_seq - 1 as base
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
                insert into job_events.outbox (event_id, workspace_id, job_id, seq, created_at)
                select id, workspace_id, job_id, seq, recorded_at from e
            ),
            n as (
                {n}
            )
            select e.id, e.job_id, e.workspace_id, e.seq, e.type, e.step_id, e.payload::text, e.actor_id, e.correlation_id, e.occurred_at, e.recorded_at
            from e cross join n
            order by e.seq;
            commit;

            """;
    }

    /// <summary>The key id of an API key <c>jt_&lt;32 hex&gt;_&lt;secret&gt;</c>.</summary>
    public static Guid KeyId(string apiKey) => Guid.ParseExact(apiKey.AsSpan(3, 32), "N");
}
