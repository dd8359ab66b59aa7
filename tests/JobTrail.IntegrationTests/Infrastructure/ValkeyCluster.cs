using System.Diagnostics;

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
        var pid = int.Parse(File.ReadAllText(Path.Combine(directory, port.ToString(System.Globalization.CultureInfo.InvariantCulture), "pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.GetProcessById(pid);
        process.Kill();
        process.WaitForExit();
    }

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
