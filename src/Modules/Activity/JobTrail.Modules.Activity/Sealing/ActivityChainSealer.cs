using System.Globalization;
using NpgsqlTypes;

namespace JobTrail.Modules.Activity.Sealing;

/// <summary>What one sealing round did: whether this instance held the sealer's lock, and how many rows it linked.</summary>
internal sealed record SealRound(bool Active, int Sealed, ulong Horizon);

/// <summary>
/// Links committed activity rows into each workspace's chain, off the request path. One round, in
/// one transaction as the owner role (the only role that reads every workspace's rows):
/// <list type="number">
/// <item>take the sealer's transaction-scoped advisory lock, or do nothing (another instance seals);</item>
/// <item>in one statement (one snapshot), read the snapshot's horizon — the oldest transaction id
/// still running, <c>pg_snapshot_xmin(pg_current_snapshot())</c> — and the next rows after the
/// sealer's position whose writer's id is below it, in (xact_id, position) order;</item>
/// <item>link them, per workspace, after that workspace's head; insert the links, move the heads
/// and the position; commit.</item>
/// </list>
/// Every transaction below the horizon has ended, so no row can still appear below it: the sealed
/// prefix of (xact_id, position) order is final, and a transaction that commits late is linked when
/// it does, before everything that started after it. docs/adr/0011 makes the argument in full.
/// </summary>
internal sealed class ActivityChainSealer(DatabaseOptions database, ActivityOptions options, IntegrityKeyRing keys, SealerState state)
{
    private const long LockKey = 0x4A_54_53_45_41_4C; // "JTSEAL"

    internal const string CandidatesSql = """
        with h as materialized (select pg_snapshot_xmin(pg_current_snapshot()) as horizon)
        select h.horizon::text, a.id, a.workspace_id, a.actor_id, a.action, a.entity_type, a.entity_id, a.outcome, a.metadata::text,
               a.ip_address::text, a.user_agent, a.correlation_id, a.occurred_at, a.xact_id::text, a.position
        from h left join lateral (
            select * from activity.activity_logs a
            where (a.xact_id, a.position) > ($1::xid8, $2) and a.xact_id < h.horizon
            order by a.xact_id, a.position
            limit $3
        ) a on true
        """;

    private const string InsertLinksSql = """
        insert into activity.chain (workspace_id, seq, activity_id, occurred_at, row_digest, prev_hash, hash, key_id, sealed_at)
        select u.workspace_id, u.seq, u.activity_id, u.occurred_at, u.row_digest, u.prev_hash, u.hash, $8, $9
        from unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::timestamptz[], $5::bytea[], $6::bytea[], $7::bytea[])
            as u(workspace_id, seq, activity_id, occurred_at, row_digest, prev_hash, hash)
        """;

    private const string MoveHeadsSql = """
        insert into activity.chain_heads as h (workspace_id, last_seq, last_hash, sealed_at)
        select * from unnest($1::uuid[], $2::bigint[], $3::bytea[], $4::timestamptz[])
        on conflict (workspace_id) do update set last_seq = excluded.last_seq, last_hash = excluded.last_hash, sealed_at = excluded.sealed_at
        """;

    private DateOnly ensuredMonth;

    /// <summary>Links up to <see cref="ActivityOptions.SealBatchSize"/> rows; answers how many.</summary>
    public async Task<SealRound> SealOnceAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var position = await LockAndReadPositionAsync(connection, transaction, cancellationToken);
        if (position is null)
        {
            state.IsActive = false;
            return new SealRound(false, 0, 0);
        }

        var (afterXact, afterPosition, roundAt) = position.Value;
        await EnsureChainPartitionAsync(connection, transaction, roundAt, cancellationToken);
        var (horizon, rows) = await ReadCandidatesAsync(connection, transaction, afterXact, afterPosition, cancellationToken);
        if (rows.Count > 0)
        {
            var heads = await ReadHeadsAsync(connection, transaction, rows.Select(r => r.Record.WorkspaceId).Distinct().ToArray(), cancellationToken);
            var links = new List<(Guid WorkspaceId, Guid ActivityId, ChainLink Link)>(rows.Count);
            foreach (var row in rows)
            {
                var workspace = row.Record.WorkspaceId;
                heads.TryGetValue(workspace, out var head);
                var link = ChainFormat.Link(keys, ChainKind.Activity, workspace, workspace, head.Seq + 1, row.Record.OccurredAt, ChainFormat.Digest(row.Record), head.Hash);
                heads[workspace] = (link.Seq, link.Hash);
                links.Add((workspace, row.Record.Id, link));
            }

            await WriteAsync(connection, transaction, links, heads, rows[^1], roundAt, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        state.IsActive = true;
        state.RecordRound(rows.Count, roundAt);
        return new SealRound(true, rows.Count, horizon);
    }

    /// <summary>How long the oldest committed, unsealed row has waited (zero when none waits).</summary>
    public async Task<TimeSpan> MeasureLagAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = LagBatch(connection);
        var seconds = (double)(await command.ExecuteScalarAsync(cancellationToken))!;
        var lag = TimeSpan.FromSeconds(Math.Max(0, seconds));
        state.Lag = lag;
        return lag;
    }

    private static async Task<(string Xact, long Position, DateTime RoundAt)?> LockAndReadPositionAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        // Two statements: a statement's snapshot is taken before it runs, so a state read in the
        // statement that takes the lock could miss the round that released it, and link rows twice.
        await using (var tryLock = new NpgsqlCommand($"select pg_try_advisory_xact_lock({LockKey})", connection, transaction))
        {
            if (!(bool)(await tryLock.ExecuteScalarAsync(cancellationToken))!)
            {
                return null;
            }
        }

        await using var command = new NpgsqlCommand(
            """
            select s.last_xact_id::text, s.last_position, greatest(now(), s.last_round_at)
            from activity.sealer_state s
            """, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? (reader.GetString(0), reader.GetInt64(1), reader.GetFieldValue<DateTime>(2))
            : null;
    }

    /// <summary>The chain partition of this round's month, made here if the partition job has not yet.</summary>
    private async Task EnsureChainPartitionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, DateTime roundAt, CancellationToken cancellationToken)
    {
        var month = new DateOnly(roundAt.Year, roundAt.Month, 1);
        if (month == ensuredMonth)
        {
            return;
        }

        await using var command = new NpgsqlCommand("select activity.ensure_partition('chain', $1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = month });
        await command.ExecuteNonQueryAsync(cancellationToken);
        ensuredMonth = month;
    }

    private async Task<(ulong Horizon, List<Candidate> Rows)> ReadCandidatesAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, string afterXact, long afterPosition, CancellationToken cancellationToken)
    {
        await using var command = CandidatesBatch(connection, transaction, afterXact, afterPosition, options.SealBatchSize);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<Candidate>();
        ulong horizon = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            horizon = ulong.Parse(reader.GetString(0), CultureInfo.InvariantCulture);
            if (reader.IsDBNull(1))
            {
                continue;
            }

            var record = new ActivityRecord(
                reader.GetGuid(1), reader.GetGuid(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                Text(reader, 6), reader.GetString(7), Text(reader, 8), Text(reader, 9), Text(reader, 10), Text(reader, 11),
                reader.GetFieldValue<DateTime>(12));
            rows.Add(new Candidate(record, reader.GetString(13), reader.GetInt64(14)));
        }

        return (horizon, rows);
    }

    /// <summary>
    /// The lag probe: the sealer's position is the index condition of a lateral read (as a join filter it
    /// would scan every sealed row first), in index order behind <see cref="Sql.KeepIndexOrder"/>; both
    /// statements share the batch's implicit transaction.
    /// </summary>
    internal static NpgsqlBatch LagBatch(NpgsqlConnection connection) =>
        new(connection)
        {
            BatchCommands =
            {
                Sql.KeepIndexOrderCommand(),
                new NpgsqlBatchCommand(
                    """
                    select coalesce(extract(epoch from clock_timestamp() - (
                        select a.occurred_at from activity.sealer_state s cross join lateral (
                            select a.occurred_at from activity.activity_logs a
                            where (a.xact_id, a.position) > (s.last_xact_id, s.last_position)
                            order by a.xact_id, a.position limit 1) a)), 0)::float8
                    """),
            },
        };

    /// <summary>
    /// The read of the next candidates, behind <see cref="Sql.KeepIndexOrder"/>: a sealer that fell behind
    /// (stopped for a while, or a burst) reads its next rows from the index in order, never by sorting the
    /// whole backlog each round, so catching up costs the same per row as keeping up.
    /// </summary>
    internal static NpgsqlBatch CandidatesBatch(NpgsqlConnection connection, NpgsqlTransaction? transaction, string afterXact, long afterPosition, int limit) =>
        new(connection, transaction)
        {
            BatchCommands = { Sql.KeepIndexOrderCommand(), Sql.Statement(CandidatesSql, afterXact, afterPosition, limit) },
        };

    private static async Task<Dictionary<Guid, (long Seq, byte[]? Hash)>> ReadHeadsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid[] workspaces, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "select workspace_id, last_seq, last_hash from activity.chain_heads where workspace_id = any($1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = workspaces });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var heads = new Dictionary<Guid, (long, byte[]?)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            heads[reader.GetGuid(0)] = (reader.GetInt64(1), reader.GetFieldValue<byte[]>(2));
        }

        return heads;
    }

    private async Task WriteAsync(
        NpgsqlConnection connection,
        NpgsqlTransaction transaction,
        List<(Guid WorkspaceId, Guid ActivityId, ChainLink Link)> links,
        Dictionary<Guid, (long Seq, byte[]? Hash)> heads,
        Candidate last,
        DateTime roundAt,
        CancellationToken cancellationToken)
    {
        var moved = links.Select(l => l.WorkspaceId).Distinct().ToArray();
        await using var batch = new NpgsqlBatch(connection, transaction)
        {
            BatchCommands =
            {
                Sql.Statement(
                    InsertLinksSql,
                    links.Select(l => l.WorkspaceId).ToArray(),
                    links.Select(l => l.Link.Seq).ToArray(),
                    links.Select(l => l.ActivityId).ToArray(),
                    links.Select(l => l.Link.OccurredAt).ToArray(),
                    links.Select(l => l.Link.RowDigest).ToArray(),
                    links.Select(l => l.Link.PrevHash).ToArray(),
                    links.Select(l => l.Link.Hash).ToArray(),
                    keys.Current.Id,
                    roundAt),
                Sql.Statement(
                    MoveHeadsSql,
                    moved,
                    moved.Select(w => heads[w].Seq).ToArray(),
                    moved.Select(w => heads[w].Hash!).ToArray(),
                    moved.Select(_ => roundAt).ToArray()),
                Sql.Statement(
                    "update activity.sealer_state set last_xact_id = $1::xid8, last_position = $2, last_round_at = $3",
                    last.XactId, last.Position, roundAt),
            },
        };
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private sealed record Candidate(ActivityRecord Record, string XactId, long Position);
}
