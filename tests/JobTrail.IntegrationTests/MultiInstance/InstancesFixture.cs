using System.Security.Cryptography;
using JobTrail.IntegrationTests.Infrastructure;
using Npgsql;

namespace JobTrail.IntegrationTests.MultiInstance;

/// <summary>
/// Two real host processes ("A" and "B") on one cloned test database and the run's Valkey, relaying
/// and polling briefly. A test may kill one; <see cref="EnsureRunningAsync"/> starts it again for the
/// next test. Every process is killed when the fixture ends.
/// </summary>
public class InstancesFixture : IAsyncLifetime
{
    public const int Partitions = 16;

    /// <summary>What every instance runs with: the relay on, looking at its partitions four times a second.</summary>
    public static readonly IReadOnlyDictionary<string, string> Settings = new Dictionary<string, string>
    {
        ["JobTrail__Relay__Enabled"] = "true",
        ["JobTrail__Relay__Partitions"] = Partitions.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["JobTrail__Relay__PollInterval"] = "00:00:00.200",
        ["JobTrail__Relay__StandbyPollInterval"] = "00:00:00.250",
        ["JobTrail__Events__Stream__CatchUpInterval"] = "00:00:01",
        ["JobTrail__Events__Stream__MaxShareOfWorkspacePerKey"] = "1",
    };

    private readonly Dictionary<string, HostProcess?> instances = new() { ["A"] = null, ["B"] = null };

    public string BootstrapKey { get; } =
        $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    public string Database { get; private set; } = string.Empty;

    public HostProcess A => instances["A"] ?? throw new InvalidOperationException("Instance A is not running.");

    public HostProcess B => instances["B"] ?? throw new InvalidOperationException("Instance B is not running.");

    public string OwnerConnectionString => TestDatabases.ForDatabase(TestDatabases.OwnerConnectionString, Database);

    public async Task InitializeAsync()
    {
        Database = await TestDatabases.CreateAsync();
        await EnsureRunningAsync();
    }

    /// <summary>Starts any instance that is not running (one at a time: the first one bootstraps the key).</summary>
    public async Task EnsureRunningAsync()
    {
        foreach (var name in instances.Keys.ToList())
        {
            if (instances[name] is { HasExited: false })
            {
                continue;
            }

            if (instances[name] is { } dead)
            {
                await dead.DisposeAsync();
            }

            instances[name] = null;
            instances[name] = await StartAsync(name);
        }
    }

    /// <summary>Another instance on the same database; the caller disposes it.</summary>
    public Task<HostProcess> StartAsync(string name) => HostProcess.StartAsync(name, Database, BootstrapKey, Settings);

    /// <summary>Each job's partition, as the relay computes it.</summary>
    public async Task<int> PartitionOfAsync(Guid jobId)
    {
        await using var connection = new NpgsqlConnection(OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select job_events.relay_partition($1, $2)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = jobId });
        command.Parameters.Add(new NpgsqlParameter { Value = Partitions });
        return (int)(await command.ExecuteScalarAsync())!;
    }

    public async Task DisposeAsync()
    {
        foreach (var instance in instances.Values)
        {
            if (instance is not null)
            {
                await instance.DisposeAsync();
            }
        }

        if (Database.Length > 0)
        {
            await TestDatabases.DropAsync(Database);
        }
    }
}
