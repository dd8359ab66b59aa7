using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.MultiInstance;

/// <summary>
/// One real JobTrail.Host.dll in a child process on a free loopback port, against a test database and
/// the run's Valkey, as production runs it. Killed (SIGKILL) when disposed, so no test leaves one behind.
/// </summary>
public sealed class HostProcess : IAsyncDisposable
{
    private static readonly string HostDll = Path.Combine(
        Repository.Root, "src", "JobTrail.Host", "bin",
#if DEBUG
        "Debug",
#else
        "Release",
#endif
        "net10.0", "JobTrail.Host.dll");

    private readonly Process process;
    private readonly StringBuilder output = new();

    private HostProcess(Process process, int port, string name)
    {
        this.process = process;
        Port = port;
        Name = name;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public string Name { get; }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public int Pid => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>The last lines the host wrote, for a failure message.</summary>
    public string Tail
    {
        get
        {
            lock (output)
            {
                return string.Join('\n', output.ToString().Split('\n').TakeLast(40));
            }
        }
    }

    /// <summary>Starts the host and waits (bounded) until <c>/health/ready</c> answers.</summary>
    public static async Task<HostProcess> StartAsync(string name, string database, string bootstrapKey, IReadOnlyDictionary<string, string> settings)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(HostDll)!,
        };
        start.ArgumentList.Add(HostDll);
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add($"http://127.0.0.1:{port}");
        foreach (var inherited in start.Environment.Keys.Where(k => k.StartsWith("JobTrail__", StringComparison.Ordinal) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(inherited);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["JobTrail__Postgres"] = TestDatabases.ForDatabase(TestDatabases.ServiceConnectionString, database);
        start.Environment["JobTrail__PostgresOwner"] = TestDatabases.ForDatabase(TestDatabases.OwnerConnectionString, database);
        start.Environment["JobTrail__Valkey"] = Environment.GetEnvironmentVariable("JobTrail__Valkey")
            ?? throw new InvalidOperationException("JobTrail__Valkey is not set: run the tests through scripts/test.sh.");
        start.Environment["JobTrail__Integrity__Key"] = JobTrailApp.IntegrityKey;
        start.Environment["JobTrail__Bootstrap__ApiKey"] = bootstrapKey;
        start.Environment["JobTrail__Bootstrap__Workspace"] = "default";
        start.Environment["JobTrail__Metrics__Url"] = string.Empty;
        start.Environment["JobTrail__RateLimit__PerSecond"] = "1000000";
        start.Environment["JobTrail__RateLimit__Burst"] = "1000000";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start JobTrail.Host.dll.");
        var host = new HostProcess(process, port, name);
        process.OutputDataReceived += (_, e) => host.Append(e.Data);
        process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var ready = await Eventually.GetAsync(async () => !process.HasExited && await host.RelayAsync() is not null, up => up || process.HasExited,
                TimeSpan.FromSeconds(90), $"instance {name} on port {port} to answer /health/ready");
            Assert.True(ready, $"instance {name} exited while starting:\n{host.Tail}");
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }

        return host;
    }

    /// <summary>A client of this instance that sends <paramref name="apiKey"/>.</summary>
    public HttpClient Client(string apiKey)
    {
        var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    /// <summary>The relay entry of <c>/health/ready</c> (its <c>data</c>), or null while the instance does not answer.</summary>
    public async Task<JsonElement?> RelayAsync()
    {
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative));
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return json.RootElement.GetProperty("checks").GetProperty("relay").GetProperty("data").Clone();
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The partitions this instance relays, as its readiness reports them; empty while it does not answer.</summary>
    public async Task<int[]> PartitionsAsync() =>
        await RelayAsync() is { } relay && relay.TryGetProperty("partitionIds", out var ids)
            ? ids.EnumerateArray().Select(p => p.GetInt32()).ToArray()
            : [];

    /// <summary>Kills the process at once (SIGKILL, as <c>kill -9</c>): no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            output.AppendLine(line);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
