using System.Collections.Concurrent;
using JobTrail.BuildingBlocks.Valkey;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobTrail.BuildingBlocks.Tests;

/// <summary>Against the real Valkey/Redis server that scripts/test.sh starts (JobTrail__Valkey).</summary>
public sealed class ValkeyClientTests : IDisposable
{
    private readonly ValkeyClient client = new(
        Environment.GetEnvironmentVariable("JobTrail__Valkey")
            ?? throw new InvalidOperationException("JobTrail__Valkey is not set: run the tests through scripts/test.sh."),
        NullLogger<ValkeyClient>.Instance);

    private readonly string key = $"jobtrail:test:{Guid.NewGuid():N}:events";

    [Fact]
    public async Task Appended_entries_read_back_in_seq_order()
    {
        for (var seq = 1; seq <= 5; seq++)
        {
            Assert.True(await client.AppendAndPublishAsync(key, key + ":ch", seq, $"{{\"seq\":{seq}}}", 1000));
        }

        Assert.Equal([4L, 5L], (await client.ReadNewestAsync(key, 2)).Select(e => e.Seq));
        Assert.Equal([3L, 4L, 5L], (await client.ReadAfterAsync(key, 2, 10)).Select(e => e.Seq));
        Assert.Equal("{\"seq\":3}", (await client.ReadAfterAsync(key, 2, 1)).Single().Json);
        Assert.Equal(1L, await client.OldestSeqAsync(key));
    }

    [Fact]
    public async Task A_resent_or_older_seq_is_skipped_and_not_published()
    {
        var received = new ConcurrentQueue<string>();
        await using (await client.SubscribeAsync(key + ":ch", received.Enqueue))
        {
            Assert.True(await client.AppendAndPublishAsync(key, key + ":ch", 1, "a", 1000));
            Assert.True(await client.AppendAndPublishAsync(key, key + ":ch", 2, "b", 1000));
            Assert.False(await client.AppendAndPublishAsync(key, key + ":ch", 2, "b-again", 1000));
            Assert.False(await client.AppendAndPublishAsync(key, key + ":ch", 1, "a-again", 1000));
            Assert.True(await client.AppendAndPublishAsync(key, key + ":ch", 3, "c", 1000));

            await Eventually.TrueAsync(() => received.Count >= 3, TimeSpan.FromSeconds(10));
        }

        Assert.Equal(["a", "b", "c"], received);
        Assert.Equal([1L, 2L, 3L], (await client.ReadAfterAsync(key, 0, 10)).Select(e => e.Seq));
    }

    [Fact]
    public async Task The_stream_is_trimmed_to_about_its_maximum_length()
    {
        for (var seq = 1; seq <= 3000; seq++)
        {
            await client.AppendAndPublishAsync(key, key + ":ch", seq, "x", 1000);
        }

        var oldest = (await client.OldestSeqAsync(key))!.Value;
        var held = 3000 - oldest + 1;
        Assert.InRange(held, 1000, 1200);
        Assert.Equal(3000L, (await client.ReadNewestAsync(key, 1)).Single().Seq);
    }

    [Fact]
    public async Task A_missing_stream_reads_as_empty()
    {
        Assert.Empty(await client.ReadNewestAsync(key, 10));
        Assert.Null(await client.OldestSeqAsync(key));
    }

    public void Dispose()
    {
        client.ExpireAsync(key, TimeSpan.FromMilliseconds(1)).GetAwaiter().GetResult();
        client.Dispose();
    }
}

internal static class Eventually
{
    /// <summary>Polls a condition until it holds or the deadline passes (then fails).</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Condition not met within {timeout}.");
            await Task.Delay(10);
        }
    }
}
