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
    // KEYS[1] the stream; ARGV[1] the channel, ARGV[2] MAXLEN, ARGV[3] the terminal expiry (ms), then
    // (seq, json, signature, terminal) per event. Returns {handled, appended, error or ''}.
    private const string AppendScript = """
        local handled, appended = 0, 0
        for i = 4, #ARGV, 4 do
            local seq, json, sig = ARGV[i], ARGV[i + 1], ARGV[i + 2]
            local added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'e', json, 's', sig)
            if type(added) == 'table' and added.err then
                if not string.find(added.err, 'equal or smaller', 1, true) then
                    return {handled, appended, added.err}
                end
            else
                redis.call('PUBLISH', ARGV[1], '{"seq":' .. seq .. ',"sig":"' .. sig .. '","event":' .. json .. '}')
                appended = appended + 1
            end
            if ARGV[i + 3] == '1' then
                redis.call('PEXPIRE', KEYS[1], ARGV[3])
            end
            handled = handled + 1
        end
        return {handled, appended, ''}
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

    public async Task<AppendOutcome> AppendAndPublishAsync(
        string streamKey, string channel, IReadOnlyList<StreamAppend> entries, int maxLength, TimeSpan terminalTtl)
    {
        if (entries.Count == 0)
        {
            return new AppendOutcome(0, 0, null);
        }

        var args = new RedisValue[3 + (4 * entries.Count)];
        args[0] = channel;
        args[1] = maxLength.ToString(CultureInfo.InvariantCulture);
        args[2] = ((long)Math.Max(1, terminalTtl.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture);
        var i = 3;
        foreach (var entry in entries)
        {
            args[i++] = entry.Seq.ToString(CultureInfo.InvariantCulture);
            args[i++] = entry.Json;
            args[i++] = entry.Signature;
            args[i++] = entry.Terminal ? "1" : "0";
        }

        var reply = (RedisResult[])(await Bounded(Db.ScriptEvaluateAsync(AppendScript, [streamKey], args)))!;
        var error = (string?)reply[2];
        return new AppendOutcome((int)(long)reply[0], (int)(long)reply[1], string.IsNullOrEmpty(error) ? null : error);
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

    /// <summary>
    /// XRANGE replies: [[id, [field, value, …]], …]; the id's first part is the seq. Whatever else an
    /// entry holds is passed on as it is (an id that is no seq reads as -1) for the reader to reject.
    /// </summary>
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
            var dash = id.IndexOf('-', StringComparison.Ordinal);
            var seq = dash > 0 && long.TryParse(id.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
            var fields = (RedisResult[])parts[1]!;
            string? json = null, signature = null;
            for (var f = 0; f + 1 < fields.Length; f += 2)
            {
                switch ((string?)fields[f])
                {
                    case "e":
                        json ??= (string?)fields[f + 1];
                        break;
                    case "s":
                        signature ??= (string?)fields[f + 1];
                        break;
                }
            }

            list.Add(new StreamEntry(seq, json ?? string.Empty, signature));
        }

        return list;
    }

    private sealed class Subscription(ISubscriber subscriber, string channel, Action<RedisChannel, RedisValue> handler) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await Bounded(subscriber.UnsubscribeAsync(channel, handler));
    }
}
