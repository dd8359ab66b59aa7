using System.Globalization;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;
using RedisStreamEntry = StackExchange.Redis.StreamEntry;

namespace JobTrail.BuildingBlocks.Valkey;

/// <summary>
/// <see cref="IValkeyClient"/> on StackExchange.Redis 3.x: reads use the native stream commands, every
/// call is bounded by the library's own timeouts, and the multiplexer reconnects and restores Pub/Sub
/// subscriptions by itself (a subscribe made while Valkey is down fails, and the caller tries again). Lua is kept for one thing only: XADD and PUBLISH of an event as one atomic
/// step, per job in one round trip that stops at the first error.
/// </summary>
public sealed partial class ValkeyClient : IValkeyClient, IDisposable
{
    /// <summary>
    /// Settings the configuration string may override (later keys win): do not fail start-up while
    /// Valkey is down, and bound every call (asyncTimeout applies to the async calls JobTrail makes).
    /// </summary>
    internal const string DefaultSettings = "abortConnect=false,connectTimeout=2000,connectRetry=1,syncTimeout=2000,asyncTimeout=5000";

    // KEYS[1] the stream; ARGV[1] the channel, ARGV[2] MAXLEN, ARGV[3] the terminal expiry (ms), then
    // (seq, json, signature, terminal, traceparent or '') per event. Returns {handled, appended, error or ''}.
    // The published message starts with {"seq":<seq>, on purpose: LiveMessage.TryPeekSeq reads that prefix alone.
    private const string AppendScript = """
        local handled, appended = 0, 0
        for i = 4, #ARGV, 5 do
            local seq, json, sig, tp = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 4]
            local added
            if tp == '' then
                added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'e', json, 's', sig)
            else
                added = redis.pcall('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'e', json, 's', sig, 't', tp)
            end
            if type(added) == 'table' and added.err then
                if not string.find(added.err, 'equal or smaller', 1, true) then
                    return {handled, appended, added.err}
                end
            else
                local trace = ''
                if tp ~= '' then
                    trace = ',"tp":"' .. tp .. '"'
                end
                redis.call('PUBLISH', ARGV[1], '{"seq":' .. seq .. ',"sig":"' .. sig .. '"' .. trace .. ',"event":' .. json .. '}')
                appended = appended + 1
            end
            if ARGV[i + 3] == '1' then
                redis.call('PEXPIRE', KEYS[1], ARGV[3])
            end
            handled = handled + 1
        end
        return {handled, appended, ''}
        """;

    // KEYS[1] the bucket (hash: t tokens, at ms); ARGV burst, tokens per period, period (ms), tokens wanted, tokens given
    // back. The server's clock counts, so instances need not agree on the time. Puts back the tokens given back (never
    // above burst), then takes as many whole tokens as are there, up to the number wanted. Returns {tokens taken, ms until
    // a token is there (when none was taken)}.
    private const string TokenScript = """
        local burst, per, period = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        local state = redis.call('HMGET', KEYS[1], 't', 'at')
        local tokens, at = tonumber(state[1]), tonumber(state[2])
        if tokens == nil or at == nil then
            tokens, at = burst, now
        elseif now > at then
            tokens = math.min(burst, tokens + (now - at) * per / period)
            at = now
        end
        tokens = math.min(burst, tokens + tonumber(ARGV[5]))
        local taken, wait = math.min(tonumber(ARGV[4]), math.floor(tokens)), 0
        if taken >= 1 then
            tokens = tokens - taken
        else
            taken = 0
            wait = math.ceil((1 - tokens) * period / per)
        end
        redis.call('HSET', KEYS[1], 't', tostring(tokens), 'at', string.format('%d', at))
        redis.call('PEXPIRE', KEYS[1], math.ceil(burst * period / per) + 1000)
        return {taken, wait}
        """;

    // KEYS[1] a workspace's stream leases, KEYS[2] (optional) an API key's, sorted sets scored by expiry (ms);
    // ARGV lease id, workspace cap, key cap, ttl (ms). Returns 0 leased, 1 workspace full, 2 key full.
    private const string LeaseScript = """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        local ttl = tonumber(ARGV[4])
        for i = 1, #KEYS do
            redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
        end
        if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
            return 1
        end
        if #KEYS > 1 and redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
            return 2
        end
        for i = 1, #KEYS do
            redis.call('ZADD', KEYS[i], now + ttl, ARGV[1])
            redis.call('PEXPIRE', KEYS[i], ttl)
        end
        return 0
        """;

    // KEYS the lease sets of one lease; ARGV lease id, ttl (ms). Extends it (re-adds it if it had expired).
    private const string RenewScript = """
        local clock = redis.call('TIME')
        local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
        for i = 1, #KEYS do
            redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2]), ARGV[1])
            redis.call('PEXPIRE', KEYS[i], ARGV[2])
        end
        return 0
        """;

    private readonly ConnectionMultiplexer connection;

    // 1 from the first failed connection until one is restored: an outage is logged once when it starts
    // and once when it ends, however many connections and reconnect attempts fail in between.
    private int down;

    public ValkeyClient(string configuration, ILogger<ValkeyClient> logger)
    {
        connection = ConnectionMultiplexer.Connect(Options(configuration));
        connection.ConnectionFailed += (_, e) =>
        {
            if (Interlocked.Exchange(ref down, 1) == 0)
            {
                logger.LogWarning(
                    "Valkey cannot be reached ({Failure}): recent events and stream backfills are read from PostgreSQL, the outbox keeps new events until it is back, and rate limits and stream caps are counted per instance meanwhile; this is logged once per outage",
                    e.FailureType);
            }
        };
        connection.ConnectionRestored += (_, _) =>
        {
            if (Interlocked.Exchange(ref down, 0) == 1)
            {
                logger.LogInformation("Valkey is reachable again");
            }
        };
    }

    /// <summary>The library's options for <paramref name="configuration"/> (host:port[,password=…][,key=value…]) over <see cref="DefaultSettings"/>.</summary>
    internal static ConfigurationOptions Options(string configuration)
    {
        var options = ConfigurationOptions.Parse($"{DefaultSettings},{configuration}");
        // While Valkey is down a call fails at once (the relay backs off, readers use PostgreSQL) rather than queueing.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        return options;
    }

    public bool IsConnected => connection.IsConnected;

    /// <summary>The client's one multiplexer, for instrumentation (commands as trace spans); not for commands.</summary>
    public IConnectionMultiplexer Connection => connection;

    private IDatabase Db => connection.GetDatabase();

    public async Task<AppendOutcome> AppendAndPublishAsync(
        string streamKey, string channel, IReadOnlyList<StreamAppend> entries, int maxLength, TimeSpan terminalTtl)
    {
        if (entries.Count == 0)
        {
            return new AppendOutcome(0, 0, null);
        }

        var args = new RedisValue[3 + (5 * entries.Count)];
        args[0] = channel;
        args[1] = maxLength;
        args[2] = (long)Math.Max(1, terminalTtl.TotalMilliseconds);
        var i = 3;
        foreach (var entry in entries)
        {
            args[i++] = entry.Seq;
            args[i++] = entry.Json;
            args[i++] = entry.Signature;
            args[i++] = entry.Terminal ? "1" : "0";
            args[i++] = entry.TraceParent is { } tp && TraceParentShape().IsMatch(tp) ? tp : string.Empty;
        }

        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(AppendScript, [streamKey], args))!;
        var error = (string?)reply[2];
        return new AppendOutcome((int)reply[0], (int)reply[1], string.IsNullOrEmpty(error) ? null : error);
    }

    public async Task<IReadOnlyList<StreamEntry>> ReadNewestAsync(string streamKey, int count)
    {
        var entries = Parse(await Db.StreamRangeAsync(streamKey, "-", "+", count, Order.Descending));
        entries.Reverse();
        return entries;
    }

    public async Task<IReadOnlyList<StreamEntry>> ReadAfterAsync(string streamKey, long afterSeq, int count) =>
        Parse(await Db.StreamRangeAsync(streamKey, $"({afterSeq.ToString(CultureInfo.InvariantCulture)}-1", "+", count));

    public async Task<long?> OldestSeqAsync(string streamKey)
    {
        var entries = Parse(await Db.StreamRangeAsync(streamKey, "-", "+", 1));
        return entries.Count == 0 ? null : entries[0].Seq;
    }

    public Task ExpireAsync(string streamKey, TimeSpan ttl) => Db.KeyExpireAsync(streamKey, ttl);

    public async Task<IAsyncDisposable> SubscribeAsync(string channel, Action<string> onMessage)
    {
        var subscriber = connection.GetSubscriber();
        var literal = RedisChannel.Literal(channel);
        ChannelMessageQueue queue;
        try
        {
            queue = await subscriber.SubscribeAsync(literal);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // A failed subscribe stays registered in the multiplexer (one subscription per channel here):
            // drop it locally, so the caller's retry is the only one.
            try
            {
                await subscriber.UnsubscribeAsync(literal);
            }
            catch (Exception cleanup) when (cleanup is RedisException or TimeoutException)
            {
                // The caller handles the subscribe's own error; this one adds nothing to it.
            }

            throw;
        }

        // A message queue hands messages over one at a time in the order Valkey sent them (handlers may run concurrently).
        queue.OnMessage(message => onMessage(message.Message!));
        return new Subscription(queue);
    }

    public async Task<bool> PublishAsync(string channel, string message)
    {
        try
        {
            await connection.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), message);
            return true;
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return false;
        }
    }

    public Task<TimeSpan> PingAsync() => Db.PingAsync();

    public async Task<TokenTake> TakeTokensAsync(string key, int burst, int perPeriod, TimeSpan period, int wanted, int givenBack)
    {
        var reply = (RedisResult[])(await Db.ScriptEvaluateAsync(
            TokenScript, [key], [burst, perPeriod, (long)Math.Max(1, period.TotalMilliseconds), Math.Max(1, wanted), Math.Max(0, givenBack)]))!;
        return new TokenTake((int)reply[0], TimeSpan.FromMilliseconds((long)reply[1]));
    }

    public async Task<SlotRefusal> TryLeaseAsync(string workspaceKey, string? apiKeyKey, string leaseId, int maxPerWorkspace, int maxPerKey, TimeSpan ttl)
    {
        RedisKey[] keys = apiKeyKey is null ? [workspaceKey] : [workspaceKey, apiKeyKey];
        var reply = (int)(await Db.ScriptEvaluateAsync(
            LeaseScript, keys, [leaseId, maxPerWorkspace, maxPerKey, (long)Math.Max(1, ttl.TotalMilliseconds)]));
        return reply switch
        {
            1 => SlotRefusal.Workspace,
            2 => SlotRefusal.Key,
            _ => SlotRefusal.None,
        };
    }

    public Task RenewLeasesAsync(IReadOnlyList<(string WorkspaceKey, string? ApiKeyKey, string LeaseId)> leases, TimeSpan ttl)
    {
        var ms = (long)Math.Max(1, ttl.TotalMilliseconds);
        // One script per lease: different workspaces may live on different cluster nodes; the multiplexer pipelines them.
        return Task.WhenAll(leases.Select(lease => Db.ScriptEvaluateAsync(
            RenewScript,
            lease.ApiKeyKey is null ? [lease.WorkspaceKey] : [lease.WorkspaceKey, lease.ApiKeyKey],
            [lease.LeaseId, ms])));
    }

    public Task ReleaseLeaseAsync(string workspaceKey, string? apiKeyKey, string leaseId) =>
        apiKeyKey is null
            ? Db.SortedSetRemoveAsync(workspaceKey, leaseId)
            : Task.WhenAll(Db.SortedSetRemoveAsync(workspaceKey, leaseId), Db.SortedSetRemoveAsync(apiKeyKey, leaseId));

    public void Dispose() => connection.Dispose();

    /// <summary>
    /// Stream entries as read; the id's first part is the seq. Whatever else an entry holds is passed
    /// on as it is (an id that is no seq reads as -1, the first <c>e</c> and <c>s</c> fields count) for
    /// the reader to reject.
    /// </summary>
    private static List<StreamEntry> Parse(RedisStreamEntry[] entries)
    {
        var list = new List<StreamEntry>(entries.Length);
        foreach (var entry in entries)
        {
            var id = (string?)entry.Id ?? string.Empty;
            var dash = id.IndexOf('-', StringComparison.Ordinal);
            var seq = dash > 0 && long.TryParse(id.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) ? parsed : -1;
            string? json = null, signature = null, traceParent = null;
            foreach (var field in entry.Values)
            {
                switch ((string?)field.Name)
                {
                    case "e":
                        json ??= (string?)field.Value;
                        break;
                    case "s":
                        signature ??= (string?)field.Value;
                        break;
                    case "t":
                        traceParent ??= (string?)field.Value;
                        break;
                }
            }

            list.Add(new StreamEntry(seq, json ?? string.Empty, signature) { TraceParent = traceParent });
        }

        return list;
    }

    // Only a W3C traceparent goes into the script's JSON; anything else is dropped.
    [System.Text.RegularExpressions.GeneratedRegex("^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")]
    private static partial System.Text.RegularExpressions.Regex TraceParentShape();

    private sealed class Subscription(ChannelMessageQueue queue) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await queue.UnsubscribeAsync();
    }
}
