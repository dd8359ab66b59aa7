using System.Text.Json;

namespace JobTrail.BuildingBlocks.Integrity;

/// <summary>Which log a chain links: each job's events, or each workspace's activity.</summary>
public enum ChainKind
{
    Events,
    Activity,
}

/// <summary>
/// One link as stored: the row it seals (by <see cref="RowDigest"/>), where it sits
/// (<see cref="Seq"/>), the link before it (<see cref="PrevHash"/>, null for seq 1) and the HMAC
/// (<see cref="Hash"/>) made with the key named <see cref="KeyId"/>.
/// </summary>
public sealed record ChainLink(long Seq, DateTime OccurredAt, byte[] RowDigest, byte[]? PrevHash, byte[] Hash, string KeyId);

/// <summary>An event as stored, with its payload as PostgreSQL's <c>jsonb</c> gives it back.</summary>
public sealed record EventRecord(
    Guid Id,
    Guid WorkspaceId,
    Guid JobId,
    long Seq,
    string Type,
    Guid? StepId,
    string? PayloadJson,
    string ActorId,
    string CorrelationId,
    DateTime OccurredAt,
    DateTime RecordedAt);

/// <summary>An activity row as stored; <see cref="IpAddress"/> is PostgreSQL's text of the <c>inet</c> value.</summary>
public sealed record ActivityRecord(
    Guid Id,
    Guid WorkspaceId,
    string ActorId,
    string Action,
    string EntityType,
    string? EntityId,
    string Outcome,
    string? MetadataJson,
    string? IpAddress,
    string? UserAgent,
    string? CorrelationId,
    DateTime OccurredAt);

/// <summary>
/// What the chains hash (docs/security.md spells it out for auditors who check without this code):
/// <list type="bullet">
/// <item>a row digest: SHA-256 over a version tag and every stored field of the row, JSON in
/// <see cref="CanonicalJson"/> form, fields in <see cref="ChainEncoding"/>;</item>
/// <item>a link hash: HMAC-SHA-256 over a version tag, the chain (kind, workspace, stream), the
/// seq, the row's occurred_at, the row digest and the previous link's hash.</item>
/// </list>
/// A link can be checked without its row (retention may have dropped the row; the link still
/// proves what was there and when), and a row against its link.
/// </summary>
public static class ChainFormat
{
    public const string EventTag = "jobtrail.event.v1";
    public const string ActivityTag = "jobtrail.activity.v1";
    public const string LinkTag = "jobtrail.link.v1";

    public static byte[] Digest(EventRecord e)
    {
        using var encoding = ChainEncoding.Sha256();
        return encoding.Text(EventTag).Uuid(e.Id).Uuid(e.WorkspaceId).Uuid(e.JobId).Int64(e.Seq).Text(e.Type).Uuid(e.StepId)
            .Text(e.ActorId).Text(e.CorrelationId).Time(e.OccurredAt).Time(e.RecordedAt).Bytes(Json(e.PayloadJson))
            .Finish();
    }

    public static byte[] Digest(ActivityRecord a)
    {
        using var encoding = ChainEncoding.Sha256();
        return encoding.Text(ActivityTag).Uuid(a.Id).Uuid(a.WorkspaceId).Text(a.ActorId).Text(a.Action).Text(a.EntityType)
            .Text(a.EntityId).Text(a.Outcome).Bytes(Json(a.MetadataJson)).Text(a.IpAddress).Text(a.UserAgent).Text(a.CorrelationId)
            .Time(a.OccurredAt)
            .Finish();
    }

    /// <summary>The HMAC of one link. <paramref name="streamId"/> is the job for events, the workspace for activity.</summary>
    public static byte[] LinkHash(
        IntegrityKey key, ChainKind kind, Guid workspaceId, Guid streamId, long seq, DateTime occurredAt, byte[] rowDigest, byte[]? prevHash)
    {
        using var encoding = ChainEncoding.Hmac(key);
        return encoding.Text(LinkTag).Text(kind == ChainKind.Events ? "events" : "activity").Uuid(workspaceId).Uuid(streamId)
            .Int64(seq).Time(occurredAt).Bytes(rowDigest).Bytes(prevHash)
            .Finish();
    }

    /// <summary>Links consecutive rows of one stream after <paramref name="prevHash"/>, with the ring's current key.</summary>
    public static ChainLink Link(
        IntegrityKeyRing keys, ChainKind kind, Guid workspaceId, Guid streamId, long seq, DateTime occurredAt, byte[] rowDigest, byte[]? prevHash)
    {
        var key = keys.Current;
        return new ChainLink(seq, occurredAt, rowDigest, prevHash, LinkHash(key, kind, workspaceId, streamId, seq, occurredAt, rowDigest, prevHash), key.Id);
    }

    /// <summary>Canonical JSON bytes; JSON that cannot be read (only a tampered row has it) digests as its raw text.</summary>
    private static byte[]? Json(string? json)
    {
        try
        {
            return CanonicalJson.Encode(json);
        }
        catch (JsonException)
        {
            return System.Text.Encoding.UTF8.GetBytes("\u0000unreadable:" + json);
        }
    }
}
