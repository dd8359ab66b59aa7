using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>Four streams per workspace; one key may hold the default share, half of them.</summary>
public sealed class StreamShareFixture() : JobTrailFixture(
    new Dictionary<string, string?> { ["JobTrail:Events:Stream:MaxStreamsPerWorkspace"] = "4" },
    null);

public sealed class StreamShareTests(StreamShareFixture fixture) : IClassFixture<StreamShareFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task One_key_may_hold_at_most_half_of_a_workspaces_streams_and_gets_a_429_beyond()
    {
        var tenant = await fixture.CreateTenantAsync();
        var second = fixture.Client(await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:second", ["events:read"], tenant.Key));
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        var path = $"/api/runner-jobs/{jobId}/events/stream";
        var open = new List<SseClient>();
        try
        {
            open.Add(await OpenAsync(tenant.Client, path));
            open.Add(await OpenAsync(tenant.Client, path));

            var refused = (await TryOpenAsync(tenant.Client, path)).EnsureProblem(429, "too_many_streams");
            Assert.True(refused.Message.Headers.RetryAfter is not null, "no Retry-After");
            Assert.Contains("API key", refused.Detail, StringComparison.Ordinal);

            // The other half stays for the workspace's other keys, up to the workspace's cap.
            open.Add(await OpenAsync(second, path));
            open.Add(await OpenAsync(second, path));
            var full = (await TryOpenAsync(second, path)).EnsureProblem(429, "too_many_streams");
            Assert.Contains("workspace already has 4", full.Detail, StringComparison.Ordinal);

            // A key that closes a stream may open one again.
            await open[0].DisposeAsync();
            open.RemoveAt(0);
            await Eventually.GetAsync(async () => (await TryOpenAsync(tenant.Client, path)).Status, status => status == 200, Deadline, "the key's released slot to be usable");
        }
        finally
        {
            foreach (var stream in open)
            {
                await stream.DisposeAsync();
            }
        }
    }

    /// <summary>A stream request read as far as its status: a refusal is read whole, an open stream is closed at once.</summary>
    private static async Task<ApiResponse> TryOpenAsync(HttpClient client, string path)
    {
        var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead);
        if ((int)response.StatusCode != 200)
        {
            return await HttpClientJsonExtensions.ReadAsync(response);
        }

        response.Dispose();
        return new ApiResponse(200, default, string.Empty, response);
    }

    private static async Task<SseClient> OpenAsync(HttpClient client, string path)
    {
        var stream = await SseClient.OpenAsync(client, path);
        Assert.Equal(200, (int)stream.Response.StatusCode);
        return stream;
    }
}
