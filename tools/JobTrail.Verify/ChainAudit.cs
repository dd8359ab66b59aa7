using JobTrail.BuildingBlocks.Integrity;
using Npgsql;

namespace JobTrail.Verify;

/// <summary>
/// Verifies chains straight from the database, outside the service: its own queries (only the
/// hashing is shared with the service), run in a read-only transaction pinned to one workspace, as
/// whichever role the connection string names (the owner, or any role allowed to read the tables).
/// </summary>
public sealed class ChainAudit(string connectionString, IntegrityKeyRing keys)
{
    private const int PageSize = 1000;

    /// <summary>A job's events from seq 1 to its head; null when the job has no events in that workspace.</summary>
    public async Task<ChainVerification?> VerifyEventsAsync(Guid workspaceId, Guid jobId, CancellationToken cancellationToken = default)
    {
        await using var session = await OpenAsync(workspaceId, cancellationToken);
        await using var extentCommand = session.Command(
            """
            select js.last_seq,
                   greatest(js.last_seq,
                            (select max(seq) from job_events.events where workspace_id = $1 and job_id = $2),
                            (select max(seq) from job_events.event_links where workspace_id = $1 and job_id = $2))
            from job_events.job_streams js where js.workspace_id = $1 and js.job_id = $2
            """, workspaceId, jobId);
        long head, max;
        await using (var reader = await extentCommand.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            (head, max) = (reader.GetInt64(0), reader.GetInt64(1));
        }

        var verifier = new ChainVerifier(keys, ChainKind.Events, workspaceId, jobId);
        for (var after = 0L; after < max && !verifier.Failed; after += PageSize)
        {
            await using var page = session.Command(
                """
                select coalesce(e.seq, l.seq), e.id, e.type, e.step_id, e.payload::text, e.actor_id, e.correlation_id, e.occurred_at,
                       e.recorded_at, l.occurred_at, l.row_digest, l.prev_hash, l.hash, l.key_id
                from (select * from job_events.events where workspace_id = $1 and job_id = $2 and seq > $3 and seq <= $4) e
                full join (select * from job_events.event_links where workspace_id = $1 and job_id = $2 and seq > $3 and seq <= $4) l
                    on l.seq = e.seq
                order by 1
                """, workspaceId, jobId, after, after + PageSize);
            await using var reader = await page.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var seq = reader.GetInt64(0);
                var digest = reader.IsDBNull(1)
                    ? null
                    : ChainFormat.Digest(new EventRecord(
                        reader.GetGuid(1), workspaceId, jobId, seq, reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetGuid(3),
                        Text(reader, 4), reader.GetString(5), reader.GetString(6), reader.GetFieldValue<DateTime>(7), reader.GetFieldValue<DateTime>(8)));
                if (!verifier.Add(new ChainEntry(seq, Link(reader, seq, 9), digest)))
                {
                    break;
                }
            }
        }

        return verifier.Finish(head);
    }

    /// <summary>A workspace's activity chain over [from, to], by default all that retention kept.</summary>
    public async Task<ChainVerification> VerifyActivityAsync(Guid workspaceId, long? fromSeq = null, long? toSeq = null, CancellationToken cancellationToken = default)
    {
        await using var session = await OpenAsync(workspaceId, cancellationToken);
        await using var extentCommand = session.Command(
            """
            select (select min(seq) from activity.chain where workspace_id = $1), h.last_seq, activity.kept_since()
            from activity.chain_heads h where h.workspace_id = $1
            """, workspaceId);
        long first, last;
        DateTime? keptSince;
        await using (var reader = await extentCommand.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new ChainVerifier(keys, ChainKind.Activity, workspaceId, workspaceId).Finish();
            }

            last = reader.GetInt64(1);
            first = reader.IsDBNull(0) ? last + 1 : reader.GetInt64(0);
            keptSince = reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTime>(2);
        }

        var from = Math.Max(fromSeq ?? first, first);
        var to = Math.Min(toSeq ?? last, last);
        byte[]? anchor = null;
        if (from > first)
        {
            await using var anchorCommand = session.Command("select hash from activity.chain where workspace_id = $1 and seq = $2 limit 1", workspaceId, from - 1);
            anchor = await anchorCommand.ExecuteScalarAsync(cancellationToken) as byte[];
        }

        var verifier = new ChainVerifier(keys, ChainKind.Activity, workspaceId, workspaceId, from, anchor);
        for (var after = from - 1; after < to && !verifier.Failed; after += PageSize)
        {
            await using var page = session.Command(
                """
                select c.seq, c.occurred_at, c.row_digest, c.prev_hash, c.hash, c.key_id,
                       a.id, a.actor_id, a.action, a.entity_type, a.entity_id, a.outcome, a.metadata::text, a.ip_address::text,
                       a.user_agent, a.correlation_id, a.occurred_at
                from activity.chain c
                left join activity.activity_logs a on a.workspace_id = c.workspace_id and a.id = c.activity_id
                where c.workspace_id = $1 and c.seq > $2 and c.seq <= $3
                order by c.seq
                """, workspaceId, after, Math.Min(after + PageSize, to));
            await using var reader = await page.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var seq = reader.GetInt64(0);
                var link = Link(reader, seq, 1)!;
                var entry = reader.IsDBNull(6)
                    ? new ChainEntry(seq, link, null, keptSince is { } since && link.OccurredAt < since)
                    : new ChainEntry(seq, link, ChainFormat.Digest(new ActivityRecord(
                        reader.GetGuid(6), workspaceId, reader.GetString(7), reader.GetString(8), reader.GetString(9), Text(reader, 10),
                        reader.GetString(11), Text(reader, 12), Text(reader, 13), Text(reader, 14), Text(reader, 15),
                        reader.GetFieldValue<DateTime>(16))));
                if (!verifier.Add(entry))
                {
                    break;
                }
            }
        }

        return verifier.Finish(to);
    }

    /// <summary>The link whose columns start at <paramref name="first"/> (occurred_at, row_digest, prev_hash, hash, key_id), or null.</summary>
    private static ChainLink? Link(NpgsqlDataReader reader, long seq, int first) =>
        reader.IsDBNull(first + 4)
            ? null
            : new ChainLink(
                seq, reader.GetFieldValue<DateTime>(first), reader.GetFieldValue<byte[]>(first + 1),
                reader.IsDBNull(first + 2) ? null : reader.GetFieldValue<byte[]>(first + 2), reader.GetFieldValue<byte[]>(first + 3),
                reader.GetString(first + 4));

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private async Task<Session> OpenAsync(Guid workspaceId, CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
        var session = new Session(connection, transaction);
        await using (var readOnly = session.Command("set transaction read only"))
        {
            await readOnly.ExecuteNonQueryAsync(cancellationToken);
        }

        await using var pin = session.Command("select set_config('app.workspace_id', $1, true)", workspaceId.ToString());
        await pin.ExecuteNonQueryAsync(cancellationToken);
        return session;
    }

    /// <summary>One read-only, repeatable-read transaction: every page of a verification sees the same state.</summary>
    private sealed class Session(NpgsqlConnection connection, NpgsqlTransaction transaction) : IAsyncDisposable
    {
        public NpgsqlCommand Command(string sql, params object[] values)
        {
            var command = new NpgsqlCommand(sql, connection, transaction);
            foreach (var value in values)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            return command;
        }

        public async ValueTask DisposeAsync()
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }
}
