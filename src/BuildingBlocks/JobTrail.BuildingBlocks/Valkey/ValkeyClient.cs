using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace JobTrail.BuildingBlocks.Valkey;

/// <summary>
/// <see cref="IValkeyClient"/> on StackExchange.Redis 1.2.6, which has no stream API: stream
/// commands run inside Lua scripts, which also makes append + publish a single atomic round trip.
/// The multiplexer reconnects by itself; calls made while Valkey is down fail fast.
/// </summary>
public sealed class ValkeyClient : IValkeyClient, IDisposable
{
    private const string AppendScript = """
        local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], ARGV[1] .. '-1', 'e', ARGV[2])
        if type(added) == 'table' and added.err then
            if string.find(added.err, 'equal or smaller', 1, true) then
                return 0
            end
            return redis.error_reply(added.err)
        end
        redis.call('PUBLISH', ARGV[3], ARGV[2])
        return 1
        """;

    private const string NewestScript = "return redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])";
    private const string AfterScript = "return redis.call('XRANGE', KEYS[1], '(' .. ARGV[1] .. '-1', '+', 'COUNT', ARGV[2])";
    private const string OldestScript = "return redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)";

    /// <summary>StackExchange.Redis 1.2.6 applies no timeout to async calls; every call gets this one.</summary>
    private static readonly TimeSpan OperationTimeout = TimeSpan.FromSeconds(5);

    private readonly ConnectionMultiplexer connection;

    public ValkeyClient(string configuration, ILogger<ValkeyClient> logger)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        options.ConnectTimeout = 2000;
        options.SyncTimeout = 2000;
        options.ConnectRetry = 1;
        connection = ConnectionMultiplexer.Connect(options);
        connection.ConnectionFailed += (_, e) => logger.LogWarning("Valkey connection lost: {Failure}", e.FailureType);
        connection.ConnectionRestored += (_, _) => logger.LogInformation("Valkey connection restored");
    }

    public bool IsConnected => connection.IsConnected;

    private IDatabase Db => connection.GetDatabase();

    public async Task<bool> AppendAndPublishAsync(string streamKey, string channel, long seq, string json, int maxLength)
    {
        var result = await Bounded(Db.ScriptEvaluateAsync(AppendScript, [streamKey],
            [seq.ToString(CultureInfo.InvariantCulture), json, channel, maxLength.ToString(CultureInfo.InvariantCulture)]));
        return (long)result == 1;
    }

    public async Task<IReadOnlyList<StreamEntry>> ReadNewestAsync(string streamKey, int count)
    {
        var entries = ParseEntries(await Bounded(Db.ScriptEvaluateAsync(NewestScript, [streamKey], [count.ToString(CultureInfo.InvariantCulture)])));
        entries.Reverse();
        return entries;
    }

    public async Task<IReadOnlyList<StreamEntry>> ReadAfterAsync(string streamKey, long afterSeq, int count) =>
        ParseEntries(await Bounded(Db.ScriptEvaluateAsync(AfterScript, [streamKey],
            [afterSeq.ToString(CultureInfo.InvariantCulture), count.ToString(CultureInfo.InvariantCulture)])));

    public async Task<long?> OldestSeqAsync(string streamKey)
    {
        var entries = ParseEntries(await Bounded(Db.ScriptEvaluateAsync(OldestScript, [streamKey], [])));
        return entries.Count == 0 ? null : entries[0].Seq;
    }

    public Task ExpireAsync(string streamKey, TimeSpan ttl) => Bounded(Db.KeyExpireAsync(streamKey, ttl));

    public async Task<IAsyncDisposable> SubscribeAsync(string channel, Action<string> onMessage)
    {
        var subscriber = connection.GetSubscriber();
        Action<RedisChannel, RedisValue> handler = (_, value) => onMessage(value!);
        await Bounded(subscriber.SubscribeAsync(channel, handler));
        return new Subscription(subscriber, channel, handler);
    }

    public Task<TimeSpan> PingAsync() => Bounded(Db.PingAsync());

    private static async Task<T> Bounded<T>(Task<T> call) => await call.WaitAsync(OperationTimeout);

    private static async Task Bounded(Task call) => await call.WaitAsync(OperationTimeout);

    public void Dispose() => connection.Dispose();

    /// <summary>XRANGE replies: [[id, [field, value, …]], …]; the id's first part is the seq.</summary>
    private static List<StreamEntry> ParseEntries(RedisResult result)
    {
        var list = new List<StreamEntry>();
        if (result.IsNull)
        {
            return list;
        }

        foreach (var entry in (RedisResult[])result!)
        {
            var parts = (RedisResult[])entry!;
            var id = (string)parts[0]!;
            var fields = (RedisResult[])parts[1]!;
            var seq = long.Parse(id.AsSpan(0, id.IndexOf('-', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
            list.Add(new StreamEntry(seq, (string)fields[1]!));
        }

        return list;
    }

    private sealed class Subscription(ISubscriber subscriber, string channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Bounded(subscriber.UnsubscribeAsync(channel, handler));
    }
}
