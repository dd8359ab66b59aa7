using System.Security.Cryptography;

namespace JobTrail.BuildingBlocks.Integrity;

/// <summary>Why a chain failed, as the verify endpoints and the auditor's tool report it.</summary>
public static class ChainFailure
{
    /// <summary>A row no longer matches its link, or a link's HMAC does not check out with any known key.</summary>
    public const string HashMismatch = "hash_mismatch";

    /// <summary>A seq is missing: no row, no link, or neither.</summary>
    public const string Gap = "gap";

    /// <summary>A link does not point at the link before it.</summary>
    public const string BrokenLink = "broken_link";

    /// <summary>The chain goes on past its head: the head was moved back, hiding the seqs after it.</summary>
    public const string HeadBehindChain = "head_behind_chain";
}

/// <summary>
/// The outcome of verifying a stretch of a chain. <see cref="Checked"/> counts the links that passed;
/// <see cref="FirstBadSeq"/> and <see cref="Reason"/> are null when <see cref="Valid"/>.
/// <see cref="LastSeq"/>/<see cref="LastHash"/> are the last good link: export them, and a later run
/// can show that nothing after them was cut off (a truncated tail is otherwise invisible).
/// </summary>
public sealed record ChainVerification(
    bool Valid,
    long Checked,
    long? FirstBadSeq,
    string? Reason,
    string? Detail,
    long? FromSeq,
    long? LastSeq,
    string? LastHash);

/// <summary>
/// One seq of a chain as read from the database: its link (null if none) and the digest of its row
/// (null if the row is absent; <see cref="RowExpired"/> when retention explains the absence).
/// </summary>
public sealed record ChainEntry(long Seq, ChainLink? Link, byte[]? RowDigest, bool RowExpired = false);

/// <summary>
/// Checks a chain entry by entry, in seq order, and stops at the first fault. For each seq it asks,
/// in this order: is it the next seq (<c>gap</c>)? does it have a link (<c>gap</c>)? does the link
/// point at the previous link (<c>broken_link</c>)? does the link's HMAC check out under its key
/// (<c>hash_mismatch</c>)? is its row there (<c>gap</c>, unless expired) and unchanged
/// (<c>hash_mismatch</c>)? Memory stays constant however long the chain.
/// </summary>
public sealed class ChainVerifier
{
    private readonly IntegrityKeyRing keys;
    private readonly ChainKind kind;
    private readonly Guid workspaceId;
    private readonly Guid streamId;
    private long expected;
    private byte[]? previousHash;
    private bool previousKnown;
    private long? fromSeq;
    private long checkedCount;
    private long? lastSeq;
    private (long Seq, string Reason, string Detail)? failure;

    /// <summary>
    /// Starts at <paramref name="firstSeq"/>. At seq 1 the previous hash is known to be null; from a
    /// later seq pass the hash of the link before (<paramref name="anchorHash"/>) when it is available,
    /// else the first link is taken as the anchor (the oldest link retention kept).
    /// </summary>
    public ChainVerifier(IntegrityKeyRing keys, ChainKind kind, Guid workspaceId, Guid streamId, long firstSeq = 1, byte[]? anchorHash = null)
    {
        this.keys = keys;
        this.kind = kind;
        this.workspaceId = workspaceId;
        this.streamId = streamId;
        expected = firstSeq;
        previousHash = anchorHash;
        previousKnown = firstSeq == 1 || anchorHash is not null;
    }

    public bool Failed => failure is not null;

    /// <summary>The next seq the verifier expects.</summary>
    public long Expected => expected;

    /// <summary>Checks one entry; false once the chain has failed (further entries are ignored).</summary>
    public bool Add(ChainEntry entry)
    {
        if (failure is not null)
        {
            return false;
        }

        if (entry.Seq != expected)
        {
            return entry.Seq > expected
                ? Fail(expected, ChainFailure.Gap, $"Nothing is recorded at seq {expected}: no row and no link.")
                : Fail(entry.Seq, ChainFailure.BrokenLink, $"Seq {entry.Seq} is recorded twice.");
        }

        if (entry.Link is not { } link)
        {
            return Fail(entry.Seq, ChainFailure.Gap, $"The row at seq {entry.Seq} has no link: the chain has a gap there.");
        }

        if (previousKnown && !Same(link.PrevHash, previousHash))
        {
            return Fail(entry.Seq, ChainFailure.BrokenLink, $"The link at seq {entry.Seq} does not point at the link before it.");
        }

        if (!keys.TryGet(link.KeyId, out var key))
        {
            return Fail(entry.Seq, ChainFailure.HashMismatch, $"The link at seq {entry.Seq} names key '{link.KeyId}', which is not configured here.");
        }

        var hash = ChainFormat.LinkHash(key, kind, workspaceId, streamId, link.Seq, link.OccurredAt, link.RowDigest, link.PrevHash);
        if (!CryptographicOperations.FixedTimeEquals(hash, link.Hash))
        {
            return Fail(entry.Seq, ChainFailure.HashMismatch, $"The link at seq {entry.Seq} does not match its hash.");
        }

        if (entry.RowDigest is null)
        {
            if (!entry.RowExpired)
            {
                return Fail(entry.Seq, ChainFailure.Gap, $"The row sealed at seq {entry.Seq} is missing.");
            }
        }
        else if (!CryptographicOperations.FixedTimeEquals(entry.RowDigest, link.RowDigest))
        {
            return Fail(entry.Seq, ChainFailure.HashMismatch, $"The row at seq {entry.Seq} differs from the row that was sealed.");
        }

        fromSeq ??= entry.Seq;
        checkedCount++;
        lastSeq = entry.Seq;
        previousHash = link.Hash;
        previousKnown = true;
        expected++;
        return true;
    }

    /// <summary>
    /// The result. <paramref name="expectedLastSeq"/> is where the chain should end (a stream's head):
    /// ending earlier is a gap at the first missing seq; going on past it is <c>head_behind_chain</c>
    /// at the first seq beyond the head.
    /// </summary>
    public ChainVerification Finish(long? expectedLastSeq = null)
    {
        if (failure is null && expectedLastSeq is { } last && last >= expected)
        {
            Fail(expected, ChainFailure.Gap, $"The chain ends at seq {expected - 1}, but its head says {last}.");
        }
        else if (expectedLastSeq is { } head && lastSeq is { } end && end > head)
        {
            // Checked links beyond the head come before any later fault: the first bad seq is the first one hidden.
            Fail(head + 1, ChainFailure.HeadBehindChain, $"The head says {head}, but the chain goes on to seq {end}: the seqs after the head are hidden.");
        }

        var hash = previousHash is null || lastSeq is null ? null : Convert.ToHexStringLower(previousHash);
        return failure is { } f
            ? new ChainVerification(false, checkedCount, f.Seq, f.Reason, f.Detail, fromSeq, lastSeq, hash)
            : new ChainVerification(true, checkedCount, null, null, null, fromSeq, lastSeq, hash);
    }

    private bool Fail(long seq, string reason, string detail)
    {
        failure = (seq, reason, detail);
        return false;
    }

    private static bool Same(byte[]? a, byte[]? b) =>
        a is null || b is null ? a is null && b is null : CryptographicOperations.FixedTimeEquals(a, b);
}
