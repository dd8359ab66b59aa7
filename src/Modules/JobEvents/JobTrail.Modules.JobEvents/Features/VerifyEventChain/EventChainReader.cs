using JobTrail.Modules.JobEvents.Persistence;

namespace JobTrail.Modules.JobEvents.Features.VerifyEventChain;

/// <summary>
/// How far a job's chain may reach: the stream's head and the highest seq among its events and links.
/// <see cref="ExpiredBelowSeq"/>: events below this seq that are missing were dropped by retention (the job
/// began before <see cref="DroppedBefore"/>, the end of the newest dropped partition, and they precede its
/// oldest kept event); 1 when retention cannot explain any missing event.
/// </summary>
internal sealed record ChainExtent(long HeadSeq, long MaxSeq, long ExpiredBelowSeq = 1, DateTime? DroppedBefore = null);

/// <summary>The reads of a chain verification: the chain's extent, then its events and links page by page.</summary>
internal sealed class EventChainReader(DbSession session)
{
    public Guid WorkspaceId => session.WorkspaceId;

    /// <summary>The job's head and the highest seq recorded for it; null when the job has no stream in this workspace.</summary>
    public async Task<ChainExtent?> ReadExtentAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await using var batch = EventRows.Batch(session);
        batch.BatchCommands.Add(EventRows.Command(
            """
            select js.last_seq,
                   greatest(js.last_seq,
                            (select max(seq) from job_events.events where workspace_id = $1 and job_id = $2),
                            (select max(seq) from job_events.event_links where workspace_id = $1 and job_id = $2)),
                   case when js.created_at < rs.dropped_before
                        then coalesce((select min(seq) from job_events.events where workspace_id = $1 and job_id = $2), js.last_seq + 1)
                        else 1 end,
                   rs.dropped_before
            from job_events.job_streams js
            left join job_events.retention_state rs on true
            where js.workspace_id = $1 and js.job_id = $2
            """,
            session.WorkspaceId, jobId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ChainExtent(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTime>(3))
            : null;
    }

    /// <summary>Every seq in (<paramref name="afterSeq"/>, <paramref name="upToSeq"/>], no missing event explained by retention.</summary>
    public Task<List<ChainEntry>> ReadAsync(Guid jobId, long afterSeq, long upToSeq, CancellationToken cancellationToken) =>
        ReadAsync(jobId, afterSeq, upToSeq, expiredBelowSeq: 1, cancellationToken);

    /// <summary>
    /// Every seq in (<paramref name="afterSeq"/>, <paramref name="upToSeq"/>] that has an event, a link or both, in seq order;
    /// a missing event below <paramref name="expiredBelowSeq"/> is marked as dropped by retention.
    /// </summary>
    public async Task<List<ChainEntry>> ReadAsync(Guid jobId, long afterSeq, long upToSeq, long expiredBelowSeq, CancellationToken cancellationToken)
    {
        await using var batch = EventRows.Batch(session);
        batch.BatchCommands.Add(EventRows.Command(
            $"""
            select coalesce(e.seq, l.seq), {EventRows.ColumnsOf("e")},
                   l.occurred_at, l.row_digest, l.prev_hash, l.hash, l.key_id
            from (select * from job_events.events where workspace_id = $1 and job_id = $2 and seq > $3 and seq <= $4) e
            full join (select * from job_events.event_links where workspace_id = $1 and job_id = $2 and seq > $3 and seq <= $4) l
                on l.seq = e.seq
            order by 1
            """,
            session.WorkspaceId, jobId, afterSeq, upToSeq));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var entries = new List<ChainEntry>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var seq = reader.GetInt64(0);
            var digest = reader.IsDBNull(1) ? null : ChainFormat.Digest(EventRows.Read(reader, first: 1));
            var link = reader.IsDBNull(16)
                ? null
                : new ChainLink(
                    seq, reader.GetFieldValue<DateTime>(12), reader.GetFieldValue<byte[]>(13),
                    reader.IsDBNull(14) ? null : reader.GetFieldValue<byte[]>(14), reader.GetFieldValue<byte[]>(15), reader.GetString(16));
            entries.Add(new ChainEntry(seq, link, digest, RowExpired: digest is null && seq < expiredBelowSeq));
        }

        return entries;
    }
}
