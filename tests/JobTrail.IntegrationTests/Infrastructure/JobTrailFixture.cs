using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// Per test class: its own cloned database, the host on it, and a bootstrap key with every scope
/// plus <c>system</c> in the workspace "default". A derived fixture may pass extra settings and
/// test services to its host.
/// </summary>
public class JobTrailFixture : IAsyncLifetime
{
    /// <summary>
    /// Every test host starts from these: the rate limit is lifted (tests that load the service on
    /// purpose must not trip it) and the outbox relay is off, so tests of the transactional write see
    /// the outbox rows. Fixtures that test the rate limit or delivery switch them back on. The
    /// activity sealer runs often, so tests that wait for links wait little.
    /// </summary>
    private static readonly IReadOnlyDictionary<string, string?> Defaults = new Dictionary<string, string?>
    {
        ["JobTrail:RateLimit:PerSecond"] = "1000000",
        ["JobTrail:RateLimit:Burst"] = "1000000",
        ["JobTrail:Relay:Enabled"] = "false",
        ["JobTrail:Activity:SealInterval"] = "00:00:00.100",
    };

    private readonly Dictionary<string, string?> settings;
    private readonly Action<IServiceCollection>? configureServices;
    private JobTrailApp? app;

    public JobTrailFixture()
        : this(null, null)
    {
    }

    /// <summary>Extra settings (over the defaults above) and services for a differently configured host.</summary>
    protected JobTrailFixture(IReadOnlyDictionary<string, string?>? settings, Action<IServiceCollection>? configureServices)
    {
        this.settings = new Dictionary<string, string?>(Defaults);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            this.settings[key] = value;
        }

        this.configureServices = configureServices;
    }

    /// <summary>Sets a host setting known only once the fixture starts (a server's ports); call before <see cref="InitializeAsync"/> runs the host.</summary>
    protected void SetSetting(string key, string? value) => settings[key] = value;

    public string BootstrapKey { get; } =
        $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    internal JobTrailApp App => app ?? throw new InvalidOperationException("The fixture has not started.");

    public Guid DefaultWorkspaceId { get; private set; }

    public virtual async Task InitializeAsync()
    {
        var database = await TestDatabases.CreateAsync();
        app = new JobTrailApp(database, BootstrapKey, settings, configureServices);
        _ = app.Server;
        await using var connection = new NpgsqlConnection(app.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select workspace_id from access.workspace_slugs where slug = 'default'", connection);
        DefaultWorkspaceId = (Guid)(await command.ExecuteScalarAsync())!;
    }

    public virtual async Task DisposeAsync()
    {
        if (app is not null)
        {
            var database = app.Database;
            await app.DisposeAsync();
            await TestDatabases.DropAsync(database);
        }
    }

    /// <summary>A client that sends <paramref name="apiKey"/> (the bootstrap key when null).</summary>
    public HttpClient Client(string? apiKey = null)
    {
        var client = App.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? BootstrapKey);
        return client;
    }

    public HttpClient AnonymousClient() => App.CreateClient();

    /// <summary>A second host on the same database with the same settings, as another instance of the service; the caller disposes it.</summary>
    internal JobTrailApp StartAnotherInstance()
    {
        var other = new JobTrailApp(App.Database, BootstrapKey, settings, configureServices);
        _ = other.Server;
        return other;
    }

    /// <summary>A new workspace and a key in it with the given scopes (all workspace scopes by default).</summary>
    public async Task<Tenant> CreateTenantAsync(params string[] scopes)
    {
        var system = Client();
        var slug = "ws-" + Guid.NewGuid().ToString("N")[..12];
        var workspace = await system.PostJsonAsync("/api/workspaces", new { slug, name = slug });
        workspace.EnsureStatus(201);
        var workspaceId = workspace.Json.GetProperty("id").GetGuid();
        var key = await CreateKeyAsync(workspaceId, "runner:" + slug, scopes.Length == 0
            ? ["jobs:read", "jobs:write", "events:read", "events:write", "activity:read", "activity:write", "admin"]
            : scopes);
        return new Tenant(workspaceId, key, Client(key));
    }

    public async Task<string> CreateKeyAsync(Guid workspaceId, string actorId, string[] scopes, string? withKey = null)
    {
        var response = await Client(withKey).PostJsonAsync($"/api/workspaces/{workspaceId}/api-keys", new { name = actorId, actorId, scopes });
        response.EnsureStatus(201);
        return response.Json.GetProperty("key").GetString()!;
    }

    /// <summary>Runs SQL as the service role, optionally with a workspace set the way the service sets it.</summary>
    public async Task<List<T>> QueryAsServiceAsync<T>(string sql, string? workspaceSetting, Func<NpgsqlDataReader, T> read)
    {
        await using var connection = new NpgsqlConnection(App.ServiceConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (workspaceSetting is not null)
        {
            await using var set = new NpgsqlCommand("select set_config('app.workspace_id', $1, true)", connection, transaction);
            set.Parameters.Add(new NpgsqlParameter { Value = workspaceSetting });
            await set.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<T>();
        while (await reader.ReadAsync())
        {
            rows.Add(read(reader));
        }

        return rows;
    }

    /// <summary>Runs SQL as the owner role (outside the service), e.g. to count rows or tamper.</summary>
    public async Task<T?> ScalarAsOwnerAsync<T>(string sql, string? workspaceSetting = null)
    {
        await using var connection = new NpgsqlConnection(App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        if (workspaceSetting is not null)
        {
            await using var set = new NpgsqlCommand("select set_config('app.workspace_id', $1, true)", connection, transaction);
            set.Parameters.Add(new NpgsqlParameter { Value = workspaceSetting });
            await set.ExecuteNonQueryAsync();
        }

        await using var command = new NpgsqlCommand(sql, connection, transaction);
        var result = await command.ExecuteScalarAsync();
        await transaction.CommitAsync();
        return result is null or DBNull ? default : (T)Convert.ChangeType(result, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }
}

public sealed record Tenant(Guid WorkspaceId, string Key, HttpClient Client);

/// <summary>A response read once: status, body as JSON (when any) and headers.</summary>
public sealed record ApiResponse(int Status, JsonElement Json, string Body, HttpResponseMessage Message)
{
    public ApiResponse EnsureStatus(int expected)
    {
        Assert.True(Status == expected, $"Expected HTTP {expected}, got {Status}: {Body}");
        return this;
    }

    /// <summary>Asserts an RFC 9457 problem with this status (and code, when given).</summary>
    public ApiResponse EnsureProblem(int expected, string? code = null)
    {
        EnsureStatus(expected);
        Assert.Equal("application/problem+json", Message.Content.Headers.ContentType?.MediaType);
        Assert.Equal(expected, Json.GetProperty("status").GetInt32());
        Assert.True(Json.TryGetProperty("traceId", out _), "problem has no traceId");
        Assert.True(Json.TryGetProperty("correlationId", out _), "problem has no correlationId");
        if (code is not null)
        {
            Assert.Equal(code, Json.GetProperty("code").GetString());
        }

        return this;
    }

    /// <summary>The problem's detail; empty for a body that is not a problem (so printing a response never throws).</summary>
    public string Detail =>
        Json.ValueKind == JsonValueKind.Object && Json.TryGetProperty("detail", out var detail) ? detail.GetString() ?? string.Empty : string.Empty;
}

public static class HttpClientJsonExtensions
{
    public static async Task<ApiResponse> PostJsonAsync(this HttpClient client, string path, object body) =>
        await ReadAsync(await client.PostAsJsonAsync(path, body));

    public static async Task<ApiResponse> PostRawAsync(this HttpClient client, string path, string body, string contentType = "application/json") =>
        await ReadAsync(await client.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, contentType)));

    public static async Task<ApiResponse> GetJsonAsync(this HttpClient client, string path) =>
        await ReadAsync(await client.GetAsync(path));

    public static async Task<ApiResponse> DeleteAsync2(this HttpClient client, string path) =>
        await ReadAsync(await client.DeleteAsync(path));

    public static async Task<ApiResponse> ReadAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        var json = body.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.Ordinal) ?? false)
            ? JsonDocument.Parse(body).RootElement.Clone()
            : default;
        return new ApiResponse((int)response.StatusCode, json, body, response);
    }
}
