using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace JobTrail.Client.Tests.Infrastructure;

/// <summary>
/// Per test class: its own cloned database and the real host on a real loopback port with the
/// outbox relay on (live streams need it), a bootstrap key with every scope plus <c>system</c>, and
/// <see cref="RestartAsync"/> / <see cref="StopAsync"/> / <see cref="StartAsync"/> on the same port and database.
/// </summary>
public class ClientFixture : IAsyncLifetime
{
    private readonly Dictionary<string, string?> settings = new()
    {
        ["JobTrail:RateLimit:PerSecond"] = "1000000",
        ["JobTrail:RateLimit:Burst"] = "1000000",
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Activity:SealInterval"] = "00:00:00.100",
    };

    private ClientTestHost? host;
    private string? database;

    public ClientFixture()
        : this(null)
    {
    }

    protected ClientFixture(IReadOnlyDictionary<string, string?>? overrides)
    {
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }
    }

    public string BootstrapKey { get; } = $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    public int Port { get; } = FreePort();

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public async Task InitializeAsync()
    {
        database = await ClientTestDatabases.CreateAsync();
        await StartAsync();
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        if (database is not null)
        {
            await ClientTestDatabases.DropAsync(database);
        }
    }

    public Task StartAsync()
    {
        host = new ClientTestHost(database!, BootstrapKey, Port, settings);
        host.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
            host = null;
        }
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    /// <summary>A client without DI, sending <paramref name="apiKey"/> (the bootstrap key when null).</summary>
    public JobTrailClient Client(string? apiKey = null, Action<JobTrailClientOptions>? configure = null)
    {
        var options = new JobTrailClientOptions { BaseAddress = BaseAddress, ApiKey = apiKey ?? BootstrapKey };
        configure?.Invoke(options);
        return new JobTrailClient(options);
    }

    /// <summary>A client on a new workspace, with a key holding every workspace scope.</summary>
    public async Task<(JobTrailClient Client, Guid WorkspaceId)> TenantAsync(Action<JobTrailClientOptions>? configure = null)
    {
        using var system = Client();
        var slug = "ws-" + Guid.NewGuid().ToString("N")[..12];
        var workspace = await system.CreateWorkspaceAsync(slug, slug);
        var key = await system.CreateApiKeyAsync(workspace.Id, "runner", "runner:" + slug,
            ["jobs:read", "jobs:write", "events:read", "events:write", "activity:read", "activity:write", "admin"]);
        return (Client(key.Key, configure), workspace.Id);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
