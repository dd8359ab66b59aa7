using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// The API description clients are generated from: valid by a real OpenAPI linter, and saying how to
/// authenticate and which scope each operation needs, so Swagger UI can call the API and a generated
/// client sends the key.
/// </summary>
public sealed class OpenApiDocumentTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    private static readonly string LintDirectory = Path.Combine(Repository.Root, "tools", "openapi-lint");

    [Fact]
    public async Task The_document_passes_the_openapi_linter_without_an_error()
    {
        var linter = Path.Combine(LintDirectory, "node_modules", "@redocly", "cli", "bin", "cli.js");
        Assert.True(File.Exists(linter), $"{linter} is missing: scripts/test.sh installs it (npm ci in tools/openapi-lint).");
        var document = Path.Combine(Path.GetTempPath(), $"jobtrail-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(document, await DocumentTextAsync());
        try
        {
            var lint = await ExternalProcess.RunAsync(
                "node", [linter, "lint", document, "--config", Path.Combine(LintDirectory, "redocly.yaml"), "--format=summary"], TimeSpan.FromMinutes(2));

            Assert.True(lint.ExitCode == 0, $"redocly lint exited with {lint.ExitCode}:\n{lint.Tail}");
            Assert.Contains("valid", lint.Output + lint.Errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(document);
        }
    }

    [Fact]
    public async Task The_api_key_is_declared_as_a_bearer_scheme()
    {
        var scheme = (await DocumentAsync()).GetProperty("components").GetProperty("securitySchemes").GetProperty("apiKey");

        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task Every_operation_names_the_scope_the_pipeline_enforces()
    {
        var operations = Operations(await DocumentAsync()).ToList();

        Assert.True(operations.Count >= 25, $"Only {operations.Count} operations in the document.");
        Assert.All(operations, op => Assert.True(
            ScopesOf(op.Operation).Count == 1, $"{op.Method} {op.Path} declares scopes [{string.Join(", ", ScopesOf(op.Operation))}], not exactly one."));
        Assert.Equal(["events:write"], ScopesOf(Find(operations, "post", "/api/runner-jobs/{jobId}/events")));
        Assert.Equal(["events:read"], ScopesOf(Find(operations, "get", "/api/runner-jobs/{jobId}/events/stream")));
        Assert.Equal(["jobs:write"], ScopesOf(Find(operations, "post", "/api/runner-jobs")));
        Assert.Equal(["system"], ScopesOf(Find(operations, "post", "/api/workspaces")));
        Assert.Equal(["admin"], ScopesOf(Find(operations, "delete", "/api/workspaces/{workspaceId}/api-keys/{keyId}")));
        Assert.Equal(["activity:write"], ScopesOf(Find(operations, "post", "/api/activity")));
    }

    [Fact]
    public async Task A_key_without_the_documented_scope_is_refused()
    {
        // The document is only worth reading if it tells the truth: a key holding every scope but the
        // one documented for an operation is refused there.
        var operation = Find(Operations(await DocumentAsync()), "get", "/api/runner-jobs");
        var documented = Assert.Single(ScopesOf(operation));
        var others = new[] { "jobs:read", "jobs:write", "events:read", "events:write", "activity:read", "activity:write" }
            .Where(s => s != documented).ToArray();
        var tenant = await fixture.CreateTenantAsync(others);

        (await tenant.Client.GetJsonAsync("/api/runner-jobs")).EnsureProblem(403);
    }

    [Fact]
    public async Task The_event_stream_is_described_as_server_sent_events()
    {
        var stream = Find(Operations(await DocumentAsync()), "get", "/api/runner-jobs/{jobId}/events/stream");

        var content = stream.GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.True(content.TryGetProperty("text/event-stream", out _), content.GetRawText());
    }

    [Fact]
    public async Task The_server_address_has_no_trailing_slash()
    {
        var servers = (await DocumentAsync()).GetProperty("servers").EnumerateArray().Select(s => s.GetProperty("url").GetString()!).ToList();

        Assert.NotEmpty(servers);
        Assert.All(servers, url => Assert.False(url.EndsWith('/'), url));
    }

    private async Task<string> DocumentTextAsync()
    {
        var response = await fixture.AnonymousClient().GetAsync("/openapi/v1.json");
        Assert.Equal(200, (int)response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    private async Task<JsonElement> DocumentAsync() => JsonDocument.Parse(await DocumentTextAsync()).RootElement;

    private static IEnumerable<(string Method, string Path, JsonElement Operation)> Operations(JsonElement document) =>
        document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => (op.Name, path.Name, op.Value)));

    private static JsonElement Find(IEnumerable<(string Method, string Path, JsonElement Operation)> operations, string method, string path) =>
        operations.Single(op => op.Method == method && op.Path == path).Operation;

    private static List<string> ScopesOf(JsonElement operation) =>
        operation.TryGetProperty("security", out var security)
            ? security.EnumerateArray().SelectMany(r => r.EnumerateObject()).Where(s => s.Name == "apiKey")
                .SelectMany(s => s.Value.EnumerateArray().Select(v => v.GetString()!)).ToList()
            : [];
}
