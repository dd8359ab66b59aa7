using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using JobTrail.Client.Tests.Infrastructure;
using Microsoft.Playwright;
using Npgsql;

namespace JobTrail.UiTests.Infrastructure;

/// <summary>
/// Per test class: a cloned database, the real host on a loopback port (relay on, short-lived
/// streams so that reconnecting is exercised all the time), and Debian's chromium driven by
/// Playwright (never a downloaded browser).
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    private const string Chromium = "/usr/bin/chromium";

    private readonly Dictionary<string, string?> settings = new()
    {
        ["JobTrail:RateLimit:PerSecond"] = "1000000",
        ["JobTrail:RateLimit:Burst"] = "1000000",
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Relay:PollInterval"] = "00:00:00.100",
        ["JobTrail:Activity:SealInterval"] = "00:00:00.100",
        ["JobTrail:Activity:Stream:PollInterval"] = "00:00:00.100",
        // Every event stream ends after 3 s and the page must resume it: drops are routine here.
        ["JobTrail:Events:Stream:MaxDuration"] = "00:00:03",
        ["JobTrail:Events:Stream:Retry"] = "00:00:00.200",
        ["JobTrail:Events:Stream:MaxShareOfWorkspacePerKey"] = "1",
    };

    private ClientTestHost? host;
    private string? database;
    private IPlaywright? playwright;

    public string BootstrapKey { get; } = $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    public int Port { get; } = FreePort();

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public string Database => database ?? throw new InvalidOperationException("Not started.");

    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        database = await ClientTestDatabases.CreateAsync();
        host = new ClientTestHost(database, BootstrapKey, Port, settings);
        host.Start();
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: scripts/test.sh installs Debian's chromium.");
        playwright = await Microsoft.Playwright.Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            // Chromium's sandbox cannot start as root (containers, CI).
            Args = Environment.UserName == "root" ? ["--no-sandbox"] : [],
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        if (database is not null)
        {
            await ClientTestDatabases.DropAsync(database);
        }
    }

    /// <summary>An API client with <paramref name="key"/> (the bootstrap key when null), over the real socket.</summary>
    public HttpClient Api(string? key = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key ?? BootstrapKey);
        return client;
    }

    /// <summary>A new workspace and a key in it with <paramref name="scopes"/> (every workspace scope by default).</summary>
    public async Task<(Guid WorkspaceId, string Key)> TenantAsync(params string[] scopes)
    {
        using var system = Api();
        var slug = "ws-" + Guid.NewGuid().ToString("N")[..12];
        var workspace = await PostAsync(system, "/api/workspaces", new { slug, name = slug });
        var workspaceId = workspace.GetProperty("id").GetGuid();
        var key = await KeyAsync(workspaceId, "user:" + slug, scopes.Length == 0
            ? ["jobs:read", "jobs:write", "events:read", "events:write", "activity:read", "activity:write"]
            : scopes);
        return (workspaceId, key);
    }

    public async Task<string> KeyAsync(Guid workspaceId, string actorId, string[] scopes)
    {
        using var system = Api();
        var created = await PostAsync(system, $"/api/workspaces/{workspaceId}/api-keys", new { name = actorId, actorId, scopes });
        return created.GetProperty("key").GetString()!;
    }

    public static async Task<JsonElement> PostAsync(HttpClient client, string path, object body)
    {
        using var response = await client.PostAsJsonAsync(path, body);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"POST {path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>A fresh browser context (its own cookies) and page.</summary>
    public async Task<IPage> PageAsync(int width = 1280, int height = 720)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        return await context.NewPageAsync();
    }

    /// <summary>Signs in on the dashboard with <paramref name="key"/> and waits for the jobs page.</summary>
    public static async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync("/ui");
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Jobs" })).ToBeVisibleAsync();
    }

    /// <summary>As the owner: switch off an append-only trigger, run one statement, switch it back on.</summary>
    public async Task TamperAsync(Guid workspaceId, string table, string trigger, string sql, params object[] values)
    {
        await using var connection = new NpgsqlConnection(ClientTestDatabases.ForDatabase(ClientTestDatabases.OwnerConnectionString, Database));
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        foreach (var (text, args) in new (string, object[])[]
                 {
                     ("select set_config('app.workspace_id', $1, true)", [workspaceId.ToString()]),
                     ($"alter table {table} disable trigger {trigger}", []),
                     (sql, values),
                     ($"alter table {table} enable trigger {trigger}", []),
                 })
        {
            await using var command = new NpgsqlCommand(text, connection, transaction);
            foreach (var arg in args)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = arg });
            }

            await command.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
