using System.Collections.Concurrent;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobTrail.BuildingBlocks.Tests;

/// <summary>Against the real Valkey/Redis server that scripts/test.sh starts (JobTrail__Valkey).</summary>
public sealed class ValkeyClientTests : IDisposable
{
    private static readonly string Configuration = Environment.GetEnvironmentVariable("JobTrail__Valkey")
        ?? throw new InvalidOperationException("JobTrail__Valkey is not set: run the tests through scripts/test.sh.");

    private readonly ValkeyClient client = new(Configuration, NullLogger<ValkeyClient>.Instance);

    private readonly string key = $"jobtrail:test:{Guid.NewGuid():N}:events";

    [Fact]
    public async Task Appended_entries_read_back_in_seq_order_with_their_signatures()
    {
        var outcome = await client.AppendAndPublishAsync(
            key, key + ":ch", Enumerable.Range(1, 5).Select(seq => Entry(seq, $"{{\"seq\":{seq}}}")).ToList(), 1000, TimeSpan.FromDays(1));

        Assert.Equal(new AppendOutcome(5, 5, null), outcome);
        Assert.Equal([4L, 5L], (await client.ReadNewestAsync(key, 2)).Select(e => e.Seq));
        Assert.Equal([3L, 4L, 5L], (await client.ReadAfterAsync(key, 2, 10)).Select(e => e.Seq));
        Assert.Equal(new StreamEntry(3, "{\"seq\":3}", "sig-3"), (await client.ReadAfterAsync(key, 2, 1)).Single());
        Assert.Equal(1L, await client.OldestSeqAsync(key));
    }

    [Fact]
    public async Task A_resent_or_older_seq_is_skipped_and_not_published()
    {
        var received = new ConcurrentQueue<string>();
        await using (await client.SubscribeAsync(key + ":ch", received.Enqueue))
        {
            Assert.Equal(new AppendOutcome(2, 2, null), await AppendAsync(Entry(1, "{\"a\":1}"), Entry(2, "{\"b\":2}")));
            Assert.Equal(new AppendOutcome(3, 1, null), await AppendAsync(Entry(2, "{\"b\":\"again\"}"), Entry(1, "{\"a\":\"again\"}"), Entry(3, "{\"c\":3}")));

            await Eventually.TrueAsync(() => received.Count >= 3, TimeSpan.FromSeconds(10), "three messages on the channel");
        }

        Assert.Equal(
            [new LiveMessage(1, "{\"a\":1}", "sig-1"), new LiveMessage(2, "{\"b\":2}", "sig-2"), new LiveMessage(3, "{\"c\":3}", "sig-3")],
            received.Select(LiveMessage.TryParse));
        Assert.Equal([1L, 2L, 3L], (await client.ReadAfterAsync(key, 0, 10)).Select(e => e.Seq));
    }

    [Fact]
    public async Task An_error_of_the_key_stops_the_run_and_is_returned_not_thrown()
    {
        using var raw = StackExchange.Redis.ConnectionMultiplexer.Connect(Configuration);
        await raw.GetDatabase().StringSetAsync(key, "x");

        var outcome = await AppendAsync(Entry(1, "{}"), Entry(2, "{}"));

        Assert.Equal(0, outcome.Handled);
        Assert.StartsWith("WRONGTYPE", outcome.Error, StringComparison.Ordinal);
        Assert.False(ValkeyErrors.IsServerWide(outcome.Error!));
    }

    [Theory]
    [InlineData("WRONGTYPE Operation against a key holding the wrong kind of value", false)]
    [InlineData("ERR Error running script", false)]
    [InlineData("BUSYKEY Target key name already exists.", false)]
    [InlineData("OOM command not allowed when used memory > 'maxmemory'.", true)]
    [InlineData("LOADING Redis is loading the dataset in memory", true)]
    [InlineData("NOAUTH Authentication required.", true)]
    [InlineData("BUSY Redis is busy running a script.", true)]
    [InlineData("READONLY You can't write against a read only replica.", true)]
    public void Server_wide_error_replies_are_told_from_errors_of_a_key(string error, bool serverWide) =>
        Assert.Equal(serverWide, ValkeyErrors.IsServerWide(error));

    [Theory]
    [InlineData("{\"seq\":2,\"type\":\"job.completed\"}")]
    [InlineData("not json")]
    [InlineData("{\"seq\":\"2\",\"sig\":\"k:x\",\"event\":{}}")]
    [InlineData("{\"seq\":2,\"sig\":\"k:x\",\"event\":\"{}\"}")]
    public void A_message_not_in_the_published_shape_parses_to_null(string message) =>
        Assert.Null(LiveMessage.TryParse(message));

    [Fact]
    public async Task The_stream_is_trimmed_to_about_its_maximum_length()
    {
        for (var first = 1; first <= 3000; first += 100)
        {
            await AppendAsync([.. Enumerable.Range(first, 100).Select(seq => Entry(seq, "{}"))]);
        }

        var oldest = (await client.OldestSeqAsync(key))!.Value;
        var held = 3000 - oldest + 1;
        Assert.InRange(held, 1000, 1200);
        Assert.Equal(3000L, (await client.ReadNewestAsync(key, 1)).Single().Seq);
    }

    [Fact]
    public void Settings_in_the_configuration_string_override_the_defaults_and_the_password_is_kept()
    {
        var options = ValkeyClient.Options("127.0.0.1:6390,password=p=w,asyncTimeout=750");

        Assert.Equal(750, options.AsyncTimeout);
        Assert.Equal(2000, options.SyncTimeout);
        Assert.False(options.AbortOnConnectFail);
        Assert.Equal("p=w", options.Password);
        Assert.Equal("127.0.0.1:6390", Assert.Single(options.EndPoints).ToString());
    }

    [Fact]
    public async Task A_missing_stream_reads_as_empty()
    {
        Assert.Empty(await client.ReadNewestAsync(key, 10));
        Assert.Null(await client.OldestSeqAsync(key));
    }

    private static StreamAppend Entry(long seq, string json) => new(seq, json, $"sig-{seq}", Terminal: false);

    private Task<AppendOutcome> AppendAsync(params StreamAppend[] entries) =>
        client.AppendAndPublishAsync(key, key + ":ch", entries, 1000, TimeSpan.FromDays(1));

    public void Dispose()
    {
        using (var raw = StackExchange.Redis.ConnectionMultiplexer.Connect(Configuration))
        {
            raw.GetDatabase().KeyDelete(key);
        }

        client.Dispose();
    }
}
