using StackExchange.Redis;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>
/// Raw access to a Valkey server, as anyone who can reach it (and knows its password) has: to poison
/// keys, forge entries and publish messages the service never wrote.
/// </summary>
public sealed class ValkeyTamper : IDisposable
{
    private const string AddScript = "return redis.call('XADD', KEYS[1], unpack(ARGV))";

    private const string CopyScript = """
        redis.call('DEL', KEYS[2])
        for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
            redis.call('XADD', KEYS[2], entry[1], unpack(entry[2]))
        end
        return redis.call('XLEN', KEYS[2])
        """;

    private readonly ConnectionMultiplexer connection;

    public ValkeyTamper(string configuration) => connection = ConnectionMultiplexer.Connect(configuration);

    /// <summary>The server the tests' hosts use (scripts/test.sh sets JobTrail__Valkey).</summary>
    public static ValkeyTamper FromEnvironment() =>
        new(Environment.GetEnvironmentVariable("JobTrail__Valkey") ?? throw new InvalidOperationException("JobTrail__Valkey is not set."));

    private IDatabase Db => connection.GetDatabase();

    public Task SetStringAsync(string key, string value) => Db.StringSetAsync(key, value);

    public Task DeleteAsync(string key) => Db.KeyDeleteAsync(key);

    public Task PublishAsync(string channel, string message) => connection.GetSubscriber().PublishAsync(RedisChannel.Literal(channel), message);

    /// <summary>XADD with an explicit id and fields.</summary>
    public Task AddEntryAsync(string key, string id, params string[] fieldsAndValues) =>
        Db.ScriptEvaluateAsync(AddScript, [key], [id, .. fieldsAndValues.Select(f => (RedisValue)f)]);

    /// <summary>Replaces <paramref name="target"/> with a copy of every entry of <paramref name="source"/>, ids and fields as they are.</summary>
    public async Task<long> CopyStreamAsync(string source, string target) =>
        (long)await Db.ScriptEvaluateAsync(CopyScript, [source, target], []);

    public void Dispose() => connection.Dispose();
}
