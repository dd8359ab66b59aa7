using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using JobTrail.BuildingBlocks.Integrity;

namespace JobTrail.BuildingBlocks.Tests.Integrity;

/// <summary>
/// The chain format is a promise to auditors (docs/security.md, "Re-implementing the check"): every
/// field of a row is in its digest, and fixed inputs give fixed digests and link hashes. The
/// known answers are computed twice: by a from-the-page encoder written here (SHA-256 and
/// HMAC-SHA-256 from the BCL, nothing from ChainFormat), and as pinned hex, so a change to the
/// format fails here even if the code and its documentation were changed together.
/// </summary>
public sealed class ChainFormatTests
{
    // Known answers, computed from the page by a separate implementation (Python's hashlib and hmac),
    // key = bytes 0x00..0x1f, link prev_hash = 32 bytes of 0xab.
    private const string EventDigestVector = "60d85a4aa5c14bdc74519e202c3a6480915d7eccfe9e8f9350f149a6cfbb6b1a";
    private const string EventDigestWithNullsVector = "1194c39131404f6e6908742903577d7560753413e8abef5d135978887f02f1c4";
    private const string ActivityDigestVector = "5c63492aba049e5c38a0a969e2d348e6eb5d370f8fbdf8d2e93d4871067a4bb2";
    private const string ActivityDigestWithNullsVector = "74c0329d8d153450e04754b9dd71d66f6d29291870f59e535b761bb98b86a5e1";
    private const string EventLinkVector = "58cc8d3ac3cf26fd1937ed0aa388224ea0e83091a1e76274a1aed85ebec3cb37";
    private const string ActivityLinkVector = "9cdda87e6f6710fa92d36ac52ba180fb6afc210624bed0ba9a9b75b8c1f13e7b";

    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly IntegrityKey IntegrityKey = new("kat", Key);

    private static readonly DateTime OccurredAt = new DateTime(2026, 1, 15, 10, 0, 0, DateTimeKind.Utc).AddTicks(1_234_560);
    private static readonly DateTime RecordedAt = new DateTime(2026, 1, 15, 10, 0, 1, DateTimeKind.Utc).AddTicks(5_000);

    /// <summary>A payload as jsonb prints it: keys sorted by length, then bytes; a space after ':' and ','.</summary>
    private const string StoredPayload = """{"Z": 1.50, "b": {"c": null, "d": true}, "aa": [1, -0.5, "x\ty\"z\\/"], "é": "\u0001 😀"}""";

    /// <summary>The same payload, canonical as docs/security.md describes it (by hand, not by CanonicalJson).</summary>
    private const string CanonicalPayload = """{"Z":1.50,"aa":[1,-0.5,"x\ty\"z\\/"],"b":{"c":null,"d":true},"é":"\u0001 😀"}""";

    private static readonly EventRecord Event = new(
        Guid.Parse("0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"),
        Guid.Parse("0194a1b2-0000-7000-8000-00000000000a"),
        Guid.Parse("0194a1b2-0000-7000-8000-00000000000b"),
        7,
        "step.output",
        Guid.Parse("0194a1b2-0000-7000-8000-00000000000c"),
        StoredPayload,
        "runner:build-7",
        "corr-42",
        OccurredAt,
        RecordedAt);

    private static readonly ActivityRecord Activity = new(
        Guid.Parse("0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"),
        Guid.Parse("0194a1b2-0000-7000-8000-00000000000a"),
        "user:42",
        "auth.login",
        "user",
        "42",
        "SUCCEEDED",
        """{"method": "sso", "attempt": 2}""",
        "203.0.113.7/32",
        "curl/8.5",
        "corr-43",
        OccurredAt);

    [Fact]
    public void An_event_digest_covers_every_field_and_is_independent_of_json_layout()
    {
        var baseline = ChainFormat.Digest(Event);
        var changed = new Dictionary<string, EventRecord>
        {
            ["id"] = Event with { Id = Guid.Parse("0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d") },
            ["workspace_id"] = Event with { WorkspaceId = Guid.Parse("0194a1b2-0000-7000-8000-0000000000aa") },
            ["job_id"] = Event with { JobId = Guid.Parse("0194a1b2-0000-7000-8000-0000000000bb") },
            ["seq"] = Event with { Seq = 8 },
            ["type"] = Event with { Type = "step.progress" },
            ["step_id"] = Event with { StepId = null },
            ["step_id (other)"] = Event with { StepId = Guid.Parse("0194a1b2-0000-7000-8000-0000000000cc") },
            ["payload"] = Event with { PayloadJson = StoredPayload.Replace("1.50", "1.5", StringComparison.Ordinal) },
            ["payload (null)"] = Event with { PayloadJson = null },
            ["payload (empty)"] = Event with { PayloadJson = "{}" },
            ["actor_id"] = Event with { ActorId = "runner:build-8" },
            ["correlation_id"] = Event with { CorrelationId = "corr-43" },
            ["occurred_at"] = Event with { OccurredAt = OccurredAt.AddTicks(10) },
            ["recorded_at"] = Event with { RecordedAt = RecordedAt.AddTicks(10) },
        };

        Assert.Equal(baseline, ChainFormat.Digest(Event with { PayloadJson = CanonicalPayload }));
        Assert.All(changed, c => Assert.False(baseline.AsSpan().SequenceEqual(ChainFormat.Digest(c.Value)), $"changing {c.Key} left the event digest as it was"));
    }

    [Fact]
    public void Neighbouring_event_fields_cannot_trade_characters()
    {
        var a = Event with { ActorId = "runner:a", CorrelationId = "bc" };
        var b = Event with { ActorId = "runner:ab", CorrelationId = "c" };

        Assert.NotEqual(ChainFormat.Digest(a), ChainFormat.Digest(b));
    }

    [Fact]
    public void The_event_digest_is_the_documented_encoding_and_its_known_answer()
    {
        var documented = Sha256(e => e
            .Text("jobtrail.event.v1").Text("0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").Text("0194a1b2-0000-7000-8000-00000000000a")
            .Text("0194a1b2-0000-7000-8000-00000000000b").Int64(7).Text("step.output").Text("0194a1b2-0000-7000-8000-00000000000c")
            .Text("runner:build-7").Text("corr-42").Text("2026-01-15T10:00:00.123456Z").Text("2026-01-15T10:00:01.000500Z")
            .Bytes(Encoding.UTF8.GetBytes(CanonicalPayload)));
        var withNulls = Sha256(e => e
            .Text("jobtrail.event.v1").Text("0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").Text("0194a1b2-0000-7000-8000-00000000000a")
            .Text("0194a1b2-0000-7000-8000-00000000000b").Int64(7).Text("step.output").Null()
            .Text("runner:build-7").Text("corr-42").Text("2026-01-15T10:00:00.123456Z").Text("2026-01-15T10:00:01.000500Z")
            .Null());

        AssertKnownAnswer(EventDigestVector, documented, ChainFormat.Digest(Event));
        AssertKnownAnswer(EventDigestWithNullsVector, withNulls, ChainFormat.Digest(Event with { StepId = null, PayloadJson = null }));
    }

    [Fact]
    public void The_activity_digest_is_the_documented_encoding_and_its_known_answer()
    {
        var documented = Sha256(e => e
            .Text("jobtrail.activity.v1").Text("0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c").Text("0194a1b2-0000-7000-8000-00000000000a")
            .Text("user:42").Text("auth.login").Text("user").Text("42").Text("SUCCEEDED")
            .Bytes(Encoding.UTF8.GetBytes("""{"attempt":2,"method":"sso"}""")).Text("203.0.113.7/32").Text("curl/8.5").Text("corr-43")
            .Text("2026-01-15T10:00:00.123456Z"));
        var withNulls = Sha256(e => e
            .Text("jobtrail.activity.v1").Text("0194a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c").Text("0194a1b2-0000-7000-8000-00000000000a")
            .Text("user:42").Text("auth.login").Text("user").Null().Text("SUCCEEDED")
            .Null().Null().Null().Null()
            .Text("2026-01-15T10:00:00.123456Z"));

        AssertKnownAnswer(ActivityDigestVector, documented, ChainFormat.Digest(Activity));
        AssertKnownAnswer(ActivityDigestWithNullsVector, withNulls, ChainFormat.Digest(Activity with
        {
            EntityId = null, MetadataJson = null, IpAddress = null, UserAgent = null, CorrelationId = null,
        }));
    }

    [Fact]
    public void The_link_hash_is_the_documented_hmac_and_its_known_answer()
    {
        var rowDigest = Convert.FromHexString(EventDigestVector);
        var prevHash = Enumerable.Repeat((byte)0xAB, 32).ToArray();
        var workspace = Guid.Parse("0194a1b2-0000-7000-8000-00000000000a");
        var job = Guid.Parse("0194a1b2-0000-7000-8000-00000000000b");

        var eventLink = Hmac(e => e
            .Text("jobtrail.link.v1").Text("events").Text("0194a1b2-0000-7000-8000-00000000000a").Text("0194a1b2-0000-7000-8000-00000000000b")
            .Int64(7).Text("2026-01-15T10:00:00.123456Z").Bytes(rowDigest).Bytes(prevHash));
        var firstActivityLink = Hmac(e => e
            .Text("jobtrail.link.v1").Text("activity").Text("0194a1b2-0000-7000-8000-00000000000a").Text("0194a1b2-0000-7000-8000-00000000000a")
            .Int64(1).Text("2026-01-15T10:00:00.123456Z").Bytes(Convert.FromHexString(ActivityDigestVector)).Null());

        AssertKnownAnswer(EventLinkVector, eventLink,
            ChainFormat.LinkHash(IntegrityKey, ChainKind.Events, workspace, job, 7, OccurredAt, rowDigest, prevHash));
        AssertKnownAnswer(ActivityLinkVector, firstActivityLink,
            ChainFormat.LinkHash(IntegrityKey, ChainKind.Activity, workspace, workspace, 1, OccurredAt, Convert.FromHexString(ActivityDigestVector), null));
    }

    [Fact]
    public void Fields_larger_than_the_encodings_buffer_and_an_encoding_used_again_hash_as_the_page_says()
    {
        // 200,000 characters, most of them three UTF-8 bytes: well past the first buffer the encoding takes.
        var text = string.Concat(Enumerable.Repeat("é€x", 66_667));
        var bytes = Enumerable.Range(0, 70_000).Select(i => (byte)i).ToArray();
        var local = new DateTime(2026, 1, 15, 11, 0, 0, DateTimeKind.Utc).AddTicks(1_234_560).ToLocalTime();
        var job = Guid.Parse("0194a1b2-0000-7000-8000-00000000000b");

        using var encoding = ChainEncoding.Hmac(IntegrityKey);
        var first = encoding.Text(text).Bytes(bytes).Uuid(job).Uuid(null).Time(local).Time(null).Int64(-2).Text(null).Bytes(null).Finish();
        // After Finish the encoding starts empty again.
        var again = encoding.Text("a").Finish();

        var documented = Hmac(e => e
            .Text(text).Bytes(bytes).Text("0194a1b2-0000-7000-8000-00000000000b").Null().Text("2026-01-15T11:00:00.123456Z").Null().Int64(-2).Null().Null());
        Assert.Equal(Convert.ToHexStringLower(documented), Convert.ToHexStringLower(first));
        Assert.Equal(Convert.ToHexStringLower(Hmac(e => e.Text("a"))), Convert.ToHexStringLower(again));

        // Its buffer goes back to the pool once: used after that, it refuses rather than hash what another caller wrote.
        encoding.Dispose();
        Assert.Throws<ObjectDisposedException>(() => encoding.Text("b"));
        Assert.Throws<ObjectDisposedException>(() => encoding.Finish());
    }

    [Fact]
    public void Times_are_written_as_the_documented_format_would_write_them()
    {
        // Edges of every field, years with leading zeros, sub-microsecond ticks (cut off, never rounded), and a spread.
        var random = new Random(20261202);
        var times = new List<DateTime>
        {
            DateTime.MinValue, DateTime.MaxValue, new DateTime(1, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddTicks(9),
            new DateTime(999, 12, 31, 23, 59, 59, DateTimeKind.Utc).AddTicks(9_999_999), new DateTime(2026, 1, 15, 10, 0, 0, DateTimeKind.Utc),
        };
        var local = new DateTime(2026, 6, 15, 10, 0, 0, DateTimeKind.Utc).AddTicks(1_234_567).ToLocalTime();
        Assert.Equal("2026-06-15T10:00:00.123456Z", ChainEncoding.FormatTime(local));
        for (var i = 0; i < 2_000; i++)
        {
            times.Add(new DateTime(random.NextInt64(DateTime.MinValue.Ticks, DateTime.MaxValue.Ticks), DateTimeKind.Utc));
        }

        foreach (var at in times)
        {
            using var encoding = ChainEncoding.Sha256();
            var expected = at.ToString("yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'ffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(expected, ChainEncoding.FormatTime(at));
            Assert.Equal(Convert.ToHexStringLower(Sha256(e => e.Text(expected))), Convert.ToHexStringLower(encoding.Time(at).Finish()));
        }
    }

    [Fact]
    public void Links_made_with_two_keys_in_turn_on_one_thread_each_use_their_own_key()
    {
        // The HMAC is kept per thread for the key last used: switching keys must never reuse the other key's.
        var other = new IntegrityKey("other", Enumerable.Range(100, 32).Select(i => (byte)i).ToArray());
        var digest = Convert.FromHexString(EventDigestVector);
        var workspace = Guid.Parse("0194a1b2-0000-7000-8000-00000000000a");
        for (var i = 0; i < 3; i++)
        {
            var mine = ChainFormat.LinkHash(IntegrityKey, ChainKind.Events, workspace, workspace, 1, OccurredAt, digest, null);
            var theirs = ChainFormat.LinkHash(other, ChainKind.Events, workspace, workspace, 1, OccurredAt, digest, null);
            var expectedMine = Hmac(e => e.Text(ChainFormat.LinkTag).Text("events").Text("0194a1b2-0000-7000-8000-00000000000a")
                .Text("0194a1b2-0000-7000-8000-00000000000a").Int64(1).Text("2026-01-15T10:00:00.123456Z").Bytes(digest).Null());
            Assert.Equal(Convert.ToHexStringLower(expectedMine), Convert.ToHexStringLower(mine));
            Assert.NotEqual(Convert.ToHexStringLower(mine), Convert.ToHexStringLower(theirs));
        }
    }

    private static void AssertKnownAnswer(string pinned, byte[] documented, byte[] actual)
    {
        Assert.Equal(Convert.ToHexStringLower(documented), Convert.ToHexStringLower(actual));
        Assert.Equal(pinned, Convert.ToHexStringLower(actual));
    }

    private static byte[] Sha256(Func<Fields, Fields> write) => SHA256.HashData(write(new Fields()).ToArray());

    private static byte[] Hmac(Func<Fields, Fields> write) => HMACSHA256.HashData(Key, write(new Fields()).ToArray());

    /// <summary>docs/security.md's field encoding, written from the page: a tag byte, then a big-endian length or value.</summary>
    private sealed class Fields
    {
        private readonly List<byte> bytes = [];

        public Fields Null()
        {
            bytes.Add(0x00);
            return this;
        }

        public Fields Text(string value) => Tagged(0x01, Encoding.UTF8.GetBytes(value));

        public Fields Bytes(byte[] value) => Tagged(0x02, value);

        public Fields Int64(long value)
        {
            var buffer = new byte[8];
            BinaryPrimitives.WriteInt64BigEndian(buffer, value);
            bytes.Add(0x03);
            bytes.AddRange(buffer);
            return this;
        }

        public byte[] ToArray() => [.. bytes];

        private Fields Tagged(byte tag, byte[] value)
        {
            var length = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
            bytes.Add(tag);
            bytes.AddRange(length);
            bytes.AddRange(value);
            return this;
        }
    }
}
