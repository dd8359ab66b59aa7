using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace JobTrail.Benchmarks.Load;

/// <summary>HTTP/1.1 to the API under test, one keep-alive connection per concurrent caller.</summary>
internal sealed class ApiClient : IDisposable
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly AuthenticationHeaderValue authorization;

    public ApiClient(Uri baseAddress, string apiKey, TimeSpan? timeout = null)
    {
        Http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = 4096,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        {
            BaseAddress = baseAddress,
            Timeout = timeout ?? TimeSpan.FromSeconds(30),
        };
        authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public HttpClient Http { get; }

    public AuthenticationHeaderValue Authorization => authorization;

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>Sends and reads the whole answer; returns the status code.</summary>
    public async Task<int> PostAsync(string path, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = Json;
        request.Headers.Authorization = authorization;
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        return (int)response.StatusCode;
    }

    public async Task<int> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = authorization;
        using var response = await Http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        return (int)response.StatusCode;
    }

    /// <summary>For set-up: sends, requires success, returns the parsed JSON answer.</summary>
    public async Task<JsonElement> SendJsonAsync(HttpMethod method, string path, string? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        request.Headers.Authorization = authorization;
        using var response = await Http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Creates a runner job; answers its id and the workspace it is in.</summary>
    public async Task<(Guid Job, Guid Workspace)> CreateJobAsync(string name, CancellationToken cancellationToken)
    {
        var job = await SendJsonAsync(HttpMethod.Post, "/api/runner-jobs", $$"""{"type":"bench","name":"{{name}}"}""", cancellationToken);
        return (job.GetProperty("id").GetGuid(), job.GetProperty("workspaceId").GetGuid());
    }

    public void Dispose() => Http.Dispose();
}
