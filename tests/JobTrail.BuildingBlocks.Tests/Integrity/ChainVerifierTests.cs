using JobTrail.BuildingBlocks.Integrity;

namespace JobTrail.BuildingBlocks.Tests.Integrity;

public sealed class ChainVerifierTests
{
    private static readonly IntegrityKeyRing Keys = new(new IntegrityKey("test", Enumerable.Repeat((byte)7, 32).ToArray()));
    private static readonly IntegrityKeyRing OtherKeys = new(new IntegrityKey("test", Enumerable.Repeat((byte)8, 32).ToArray()));
    private static readonly Guid Workspace = Guid.CreateVersion7();
    private static readonly Guid Job = Guid.CreateVersion7();

    [Fact]
    public void An_untouched_chain_verifies_and_reports_its_head()
    {
        var entries = Chain(5);

        var result = Verify(entries, expectedLast: 5);

        Assert.Equal(new ChainVerification(true, 5, null, null, null, 1, 5, Convert.ToHexStringLower(entries[^1].Link!.Hash)), result);
    }

    [Fact]
    public void A_changed_row_is_a_hash_mismatch_at_its_seq()
    {
        var entries = Chain(5);
        entries[2] = entries[2] with { RowDigest = Row(99) };

        AssertFails(Verify(entries), 3, ChainFailure.HashMismatch);
    }

    [Fact]
    public void A_missing_row_or_link_or_seq_is_a_gap()
    {
        var rowless = Chain(5);
        rowless[1] = rowless[1] with { RowDigest = null };
        var linkless = Chain(5);
        linkless[1] = linkless[1] with { Link = null };
        var missing = Chain(5);
        missing.RemoveAt(3);

        AssertFails(Verify(rowless), 2, ChainFailure.Gap);
        AssertFails(Verify(linkless), 2, ChainFailure.Gap);
        AssertFails(Verify(missing), 4, ChainFailure.Gap);
    }

    [Fact]
    public void A_row_that_retention_dropped_leaves_a_link_that_still_verifies()
    {
        var entries = Chain(3);
        entries[0] = entries[0] with { RowDigest = null, RowExpired = true };

        Assert.True(Verify(entries).Valid);
    }

    [Fact]
    public void A_rewritten_prev_hash_is_a_broken_link()
    {
        var entries = Chain(5);
        entries[3] = entries[3] with { Link = entries[3].Link! with { PrevHash = new byte[32] } };

        AssertFails(Verify(entries), 4, ChainFailure.BrokenLink);
    }

    [Fact]
    public void A_link_rehashed_with_another_key_is_a_hash_mismatch()
    {
        var entries = Chain(5);
        var forged = entries[2].Link! with { RowDigest = Row(42) };
        forged = forged with { Hash = ChainFormat.LinkHash(OtherKeys.Current, ChainKind.Events, Workspace, Job, 3, forged.OccurredAt, forged.RowDigest, forged.PrevHash) };
        entries[2] = new ChainEntry(3, forged, Row(42));

        AssertFails(Verify(entries), 3, ChainFailure.HashMismatch);
    }

    [Fact]
    public void A_link_of_an_unknown_key_is_a_hash_mismatch()
    {
        var entries = Chain(2);
        entries[1] = entries[1] with { Link = entries[1].Link! with { KeyId = "gone" } };

        var result = Verify(entries);

        AssertFails(result, 2, ChainFailure.HashMismatch);
        Assert.Contains("'gone'", result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Links_swapped_between_two_seqs_break_at_the_first()
    {
        var entries = Chain(5);
        (entries[1], entries[3]) = (entries[3] with { Seq = 2 }, entries[1] with { Seq = 4 });

        AssertFails(Verify(entries), 2, ChainFailure.BrokenLink);
    }

    [Fact]
    public void A_chain_shorter_than_its_head_is_a_gap_after_its_end()
    {
        AssertFails(Verify(Chain(3), expectedLast: 5), 4, ChainFailure.Gap);
    }

    [Fact]
    public void A_chain_that_goes_on_past_its_head_is_head_behind_chain_at_the_first_hidden_seq()
    {
        var past = Verify(Chain(5), expectedLast: 3);
        var tamperedBeyond = Chain(5);
        tamperedBeyond[4] = tamperedBeyond[4] with { RowDigest = Row(99) };

        AssertFails(past, 4, ChainFailure.HeadBehindChain);
        Assert.Equal((5L, (long?)5), (past.Checked, past.LastSeq));
        AssertFails(Verify(tamperedBeyond, expectedLast: 2), 3, ChainFailure.HeadBehindChain);
        Assert.True(Verify(Chain(5), expectedLast: 5).Valid);
    }

    [Fact]
    public void A_stretch_is_checked_against_the_link_before_it_or_anchored_at_its_first_link()
    {
        var entries = Chain(6);

        var anchored = new ChainVerifier(Keys, ChainKind.Events, Workspace, Job, firstSeq: 4);
        var pinned = new ChainVerifier(Keys, ChainKind.Events, Workspace, Job, firstSeq: 4, anchorHash: entries[2].Link!.Hash);
        var wrongPin = new ChainVerifier(Keys, ChainKind.Events, Workspace, Job, firstSeq: 4, anchorHash: entries[1].Link!.Hash);
        foreach (var entry in entries.Skip(3))
        {
            anchored.Add(entry);
            pinned.Add(entry);
            wrongPin.Add(entry);
        }

        Assert.Equal((true, 3L, 4L), (anchored.Finish().Valid, anchored.Finish().Checked, anchored.Finish().FromSeq!.Value));
        Assert.True(pinned.Finish().Valid);
        AssertFails(wrongPin.Finish(), 4, ChainFailure.BrokenLink);
    }

    [Fact]
    public void The_link_hash_covers_every_field()
    {
        var at = new DateTime(2026, 1, 15, 10, 0, 0, DateTimeKind.Utc).AddTicks(1230);
        var baseline = ChainFormat.LinkHash(Keys.Current, ChainKind.Events, Workspace, Job, 3, at, Row(1), Row(2));
        var variants = new[]
        {
            ChainFormat.LinkHash(Keys.Current, ChainKind.Activity, Workspace, Job, 3, at, Row(1), Row(2)),
            ChainFormat.LinkHash(Keys.Current, ChainKind.Events, Guid.CreateVersion7(), Job, 3, at, Row(1), Row(2)),
            ChainFormat.LinkHash(Keys.Current, ChainKind.Events, Workspace, Guid.CreateVersion7(), 3, at, Row(1), Row(2)),
            ChainFormat.LinkHash(Keys.Current, ChainKind.Events, Workspace, Job, 4, at, Row(1), Row(2)),
            ChainFormat.LinkHash(Keys.Current, ChainKind.Events, Workspace, Job, 3, at.AddTicks(10), Row(1), Row(2)),
            ChainFormat.LinkHash(Keys.Current, ChainKind.Events, Workspace, Job, 3, at, Row(9), Row(2)),
            ChainFormat.LinkHash(Keys.Current, ChainKind.Events, Workspace, Job, 3, at, Row(1), null),
            ChainFormat.LinkHash(OtherKeys.Current, ChainKind.Events, Workspace, Job, 3, at, Row(1), Row(2)),
        };

        Assert.All(variants, v => Assert.NotEqual(baseline, v));
    }

    [Fact]
    public void A_row_digest_covers_every_field_and_is_independent_of_json_layout()
    {
        var at = new DateTime(2026, 1, 15, 10, 0, 0, DateTimeKind.Utc);
        var row = new ActivityRecord(Guid.CreateVersion7(), Workspace, "user:1", "auth.login", "user", "42", "SUCCEEDED",
            """{"b":1,"a":2}""", "203.0.113.7/32", "ua", "corr", at);
        var same = row with { MetadataJson = """{"a": 2, "b": 1}""" };
        var changed = new[]
        {
            row with { ActorId = "user:2" }, row with { Action = "auth.logout" }, row with { EntityType = "team" },
            row with { EntityId = null }, row with { Outcome = "FAILED" }, row with { MetadataJson = """{"a":2,"b":2}""" },
            row with { IpAddress = null }, row with { UserAgent = "ub" }, row with { CorrelationId = null },
            row with { OccurredAt = at.AddTicks(10) }, row with { Id = Guid.CreateVersion7() }, row with { WorkspaceId = Guid.CreateVersion7() },
        };

        Assert.Equal(ChainFormat.Digest(row), ChainFormat.Digest(same));
        Assert.All(changed, c => Assert.NotEqual(ChainFormat.Digest(row), ChainFormat.Digest(c)));
    }

    [Fact]
    public void Neighbouring_fields_cannot_trade_characters()
    {
        var at = DateTime.UnixEpoch;
        var a = new ActivityRecord(Guid.Empty, Workspace, "ab", "c.d", "e", null, "SUCCEEDED", null, null, null, null, at);
        var b = a with { ActorId = "a", Action = "bc.d" };

        Assert.NotEqual(ChainFormat.Digest(a), ChainFormat.Digest(b));
    }

    private static List<ChainEntry> Chain(int length)
    {
        var entries = new List<ChainEntry>();
        byte[]? prev = null;
        for (var seq = 1; seq <= length; seq++)
        {
            var link = ChainFormat.Link(Keys, ChainKind.Events, Workspace, Job, seq, DateTime.UnixEpoch.AddSeconds(seq), Row(seq), prev);
            entries.Add(new ChainEntry(seq, link, Row(seq)));
            prev = link.Hash;
        }

        return entries;
    }

    private static byte[] Row(int n) => System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(n));

    private static ChainVerification Verify(IEnumerable<ChainEntry> entries, long? expectedLast = null)
    {
        var verifier = new ChainVerifier(Keys, ChainKind.Events, Workspace, Job);
        foreach (var entry in entries)
        {
            verifier.Add(entry);
        }

        return verifier.Finish(expectedLast);
    }

    private static void AssertFails(ChainVerification result, long seq, string reason) =>
        Assert.Equal((false, (long?)seq, reason), (result.Valid, result.FirstBadSeq, result.Reason));
}
