
namespace JobTrail.Modules.Activity.Features.VerifyActivityChain;

/// <summary>Where a workspace's chain starts (the oldest link retention kept) and ends, and since when rows are kept.</summary>
internal sealed record ChainExtent(long FirstSeq, long LastSeq, DateTime? KeptSince);

/// <summary>Reads a workspace's chain and the rows it seals, on the request's session (row-level security applies).</summary>
internal sealed class ActivityChainReader(DbSession session)
{
    public Guid WorkspaceId => session.WorkspaceId;

    /// <summary>Null when nothing of this workspace has been sealed yet.</summary>
    public async Task<ChainExtent?> GetExtentAsync(CancellationToken cancellationToken)
    {
        await using var command = session.CreateBatch(
            """
            select (select min(seq) from activity.chain where workspace_id = $1), h.last_seq, activity.kept_since()
            from activity.chain_heads h
            where h.workspace_id = $1
            """, session.WorkspaceId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        var last = reader.GetInt64(1);
        return new ChainExtent(reader.IsDBNull(0) ? last + 1 : reader.GetInt64(0), last, reader.IsDBNull(2) ? null : reader.GetFieldValue<DateTime>(2));
    }

    /// <summary>The hash of the link at <paramref name="seq"/>, if it is there.</summary>
    public async Task<byte[]?> GetHashAsync(long seq, CancellationToken cancellationToken)
    {
        await using var command = session.CreateBatch(
            "select hash from activity.chain where workspace_id = $1 and seq = $2 limit 1", session.WorkspaceId, seq);
        return await command.ExecuteScalarAsync(cancellationToken) as byte[];
    }

    /// <summary>
    /// The links in (<paramref name="afterSeq"/>, <paramref name="upToSeq"/>], each with the digest of
    /// its row as stored now (null when the row is gone; expired when it occurred before <paramref name="keptSince"/>).
    /// </summary>
    public async Task<List<ChainEntry>> ReadAsync(long afterSeq, long upToSeq, DateTime? keptSince, CancellationToken cancellationToken)
    {
        await using var command = session.CreateBatch(
            """
            select c.seq, c.occurred_at, c.row_digest, c.prev_hash, c.hash, c.key_id,
                   a.id, a.workspace_id, a.actor_id, a.action, a.entity_type, a.entity_id, a.outcome, a.metadata::text,
                   a.ip_address::text, a.user_agent, a.correlation_id, a.occurred_at
            from activity.chain c
            left join activity.activity_logs a on a.workspace_id = c.workspace_id and a.id = c.activity_id
            where c.workspace_id = $1 and c.seq > $2 and c.seq <= $3
            order by c.seq
            """, session.WorkspaceId, afterSeq, upToSeq);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<ChainEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var link = new ChainLink(
                reader.GetInt64(0), reader.GetFieldValue<DateTime>(1), reader.GetFieldValue<byte[]>(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3), reader.GetFieldValue<byte[]>(4), reader.GetString(5));
            if (reader.IsDBNull(6))
            {
                entries.Add(new ChainEntry(link.Seq, link, null, RowExpired: keptSince is { } since && link.OccurredAt < since));
                continue;
            }

            var row = new ActivityRecord(
                reader.GetGuid(6), reader.GetGuid(7), reader.GetString(8), reader.GetString(9), reader.GetString(10), Text(reader, 11),
                reader.GetString(12), Text(reader, 13), Text(reader, 14), Text(reader, 15), Text(reader, 16), reader.GetFieldValue<DateTime>(17));
            entries.Add(new ChainEntry(link.Seq, link, ChainFormat.Digest(row)));
        }

        return entries;
    }

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
