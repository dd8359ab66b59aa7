using System.Security.Cryptography;
using JobTrail.BuildingBlocks.Integrity;
using Microsoft.Extensions.Configuration;

namespace JobTrail.BuildingBlocks.Tests.Integrity;

public sealed class IntegrityKeyRingTests
{
    private static readonly string KeyA = Convert.ToBase64String(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
    private static readonly string KeyB = Convert.ToBase64String(Enumerable.Range(100, 40).Select(i => (byte)i).ToArray());

    [Fact]
    public void Without_a_key_start_up_is_refused_with_a_message_that_says_what_to_set()
    {
        var error = Assert.Throws<InvalidOperationException>(() => IntegrityKeyRing.From(Config(), allowGenerated: false));

        Assert.Contains("JobTrail__Integrity__Key", error.Message, StringComparison.Ordinal);
        Assert.Contains("32 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Where_allowed_a_missing_key_is_replaced_by_a_generated_one_and_said_so()
    {
        var ring = IntegrityKeyRing.From(Config(), allowGenerated: true);

        Assert.True(ring.IsGenerated);
        Assert.StartsWith("gen-", ring.Current.Id, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void A_malformed_or_short_key_is_refused_even_where_a_generated_one_would_do(string key)
    {
        Assert.Throws<InvalidOperationException>(() => IntegrityKeyRing.From(Config(("Key", key)), allowGenerated: true));
    }

    [Fact]
    public void The_key_id_defaults_to_the_start_of_the_keys_sha256_or_is_configured()
    {
        var derived = IntegrityKeyRing.From(Config(("Key", KeyA)), allowGenerated: false);
        var named = IntegrityKeyRing.From(Config(("Key", KeyA), ("KeyId", "2026-01")), allowGenerated: false);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Convert.FromBase64String(KeyA)))[..8], derived.Current.Id);
        Assert.Equal("2026-01", named.Current.Id);
        Assert.False(derived.IsGenerated);
    }

    [Fact]
    public void Previous_keys_verify_links_made_before_a_rotation()
    {
        var before = IntegrityKeyRing.From(Config(("Key", KeyA)), allowGenerated: false);
        var workspace = Guid.CreateVersion7();
        var link = ChainFormat.Link(before, ChainKind.Activity, workspace, workspace, 1, DateTime.UtcNow, new byte[32], null);

        var after = IntegrityKeyRing.From(Config(("Key", KeyB), ($"PreviousKeys:{before.Current.Id}", KeyA)), allowGenerated: false);
        var forgotten = IntegrityKeyRing.From(Config(("Key", KeyB)), allowGenerated: false);

        Assert.NotEqual(before.Current.Id, after.Current.Id);
        Assert.True(Verify(after, workspace, link).Valid);
        var failed = Verify(forgotten, workspace, link);
        Assert.Equal((false, 1L, ChainFailure.HashMismatch), (failed.Valid, failed.FirstBadSeq!.Value, failed.Reason));
    }

    private static ChainVerification Verify(IntegrityKeyRing keys, Guid workspace, ChainLink link)
    {
        var verifier = new ChainVerifier(keys, ChainKind.Activity, workspace, workspace);
        verifier.Add(new ChainEntry(1, link, link.RowDigest));
        return verifier.Finish();
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>($"{IntegrityKeyRing.Section}:{v.Key}", v.Value)))
            .Build();
}
