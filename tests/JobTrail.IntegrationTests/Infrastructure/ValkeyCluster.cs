using System.Diagnostics;
using System.Globalization;
using System.Net;
using StackExchange.Redis;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// A 3-master, 3-replica cluster on loopback started by <c>scripts/valkey-cluster.sh</c> in a directory of its
/// own; disposing stops exactly the servers that directory started.
/// </summary>
public sealed class ValkeyCluster : IAsyncDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(2);
    private readonly string directory = Path.Combine(Path.GetTempPath(), $"jobtrail-valkey-cluster-{Guid.NewGuid():N}");
    private bool started;

    /// <summary>The client configuration: all six endpoints and the password.</summary>
    public string Configuration { get; private set; } = string.Empty;

    public async Task StartAsync()
    {
        started = true;
        var result = await RunAsync("up");
        var line = result.Output.Split('\n').LastOrDefault(l => l.StartsWith("export JobTrail__Valkey=", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("valkey-cluster.sh up printed no configuration:\n" + result.Tail);
        Configuration = line["export JobTrail__Valkey=".Length..].Trim();
    }

    /// <summary>Kills (SIGKILL) the node on <paramref name="port"/>, as a crash would.</summary>
    public void Kill(int port)
    {
        var pid = int.Parse(File.ReadAllText(Path.Combine(directory, port.ToString(CultureInfo.InvariantCulture), "pid")).Trim(), CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        process.WaitForExit();
    }

    /// <summary>Every node's CLUSTER INFO, CLUSTER NODES, INFO replication and log tail, for a failure message.</summary>
    public async Task<string> DescribeAsync()
    {
        var result = await ExternalProcess.RunAsync(
            "bash", [Path.Combine(Repository.Root, "scripts", "valkey-cluster.sh"), "status"], Deadline,
            new Dictionary<string, string> { ["JOBTRAIL_VALKEY_CLUSTER_DIR"] = directory });
        return result.Output + result.Errors;
    }

    /// <summary>Runs <paramref name="wait"/>; when it times out, its message carries every node's view of the cluster.</summary>
    public async Task<T> DiagnosedAsync<T>(Func<Task<T>> wait)
    {
        try
        {
            return await wait();
        }
        catch (Xunit.Sdk.XunitException e)
        {
            Assert.Fail($"{e.Message}\nThe cluster's nodes:\n{await DescribeAsync()}");
            throw;
        }
    }

    /// <summary>The port of the master that serves <paramref name="key"/>'s slot, as a live node of the cluster says; 0 while none does.</summary>
    public async Task<int> MasterOfAsync(string key)
    {
        await using var connection = await ConnectAsync();
        var slot = connection.HashSlot(key);
        foreach (var endpoint in connection.GetEndPoints())
        {
            var server = connection.GetServer(endpoint);
            if (!server.IsConnected)
            {
                continue;
            }

            var nodes = await server.ClusterNodesAsync();
            if (nodes?.GetBySlot(slot) is { IsReplica: false, IsConnected: true, EndPoint: IPEndPoint { } served } node
                && !node.Raw.Contains("fail", StringComparison.Ordinal))
            {
                return served.Port;
            }
        }

        return 0;
    }

    /// <summary>
    /// Waits until a replica of the master on <paramref name="port"/> is online and has every byte the master wrote:
    /// only such a replica may (and will) take over when the master dies.
    /// </summary>
    public Task WaitUntilReplicatedAsync(int port, TimeSpan timeout) =>
        DiagnosedAsync(() => Eventually.GetAsync(
            async () =>
            {
                await using var connection = await ConnectAsync();
                return await connection.GetServer("127.0.0.1", port).InfoRawAsync("replication") ?? string.Empty;
            },
            ReplicaCaughtUp, timeout, $"a replica of 127.0.0.1:{port} to be online with the master's offset"));

    private static bool ReplicaCaughtUp(string replication)
    {
        var fields = replication.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(':', 2)).Where(pair => pair.Length == 2).ToDictionary(pair => pair[0], pair => pair[1]);
        if (!fields.TryGetValue("master_repl_offset", out var offset))
        {
            return false;
        }

        // slaveN:ip=127.0.0.1,port=…,state=online,offset=…,lag=…
        return fields.Where(field => field.Key.StartsWith("slave", StringComparison.Ordinal) && field.Key[5..].All(char.IsDigit))
            .Select(field => field.Value.Split(',').Select(part => part.Split('=', 2)).Where(pair => pair.Length == 2).ToDictionary(pair => pair[0], pair => pair[1]))
            .Any(replica => replica.GetValueOrDefault("state") == "online" && replica.GetValueOrDefault("offset") == offset);
    }

    private Task<ConnectionMultiplexer> ConnectAsync() =>
        ConnectionMultiplexer.ConnectAsync(Configuration + ",abortConnect=false,connectTimeout=2000,allowAdmin=true");

    public async ValueTask DisposeAsync()
    {
        if (started)
        {
            await RunAsync("down");
        }
    }

    private async Task<ExternalProcess.Result> RunAsync(string command)
    {
        var result = await ExternalProcess.RunAsync(
            "bash", [Path.Combine(Repository.Root, "scripts", "valkey-cluster.sh"), command], Deadline,
            new Dictionary<string, string> { ["JOBTRAIL_VALKEY_CLUSTER_DIR"] = directory });
        return result.ExitCode == 0 ? result : throw new InvalidOperationException($"valkey-cluster.sh {command} failed:\n{result.Tail}");
    }
}
