using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Http.Resilience;

namespace JobTrail.Client;

/// <summary>
/// A typed client for every endpoint of the JobTrail API. Registered with
/// <c>services.AddJobTrailClient(...)</c> (HttpClientFactory), or created with
/// <c>new JobTrailClient(options)</c>. Failed calls throw <see cref="JobTrailApiException"/>.
/// </summary>
public sealed partial class JobTrailClient : IDisposable
{
    private readonly HttpClient http;
    private readonly bool ownsHttp;

    /// <summary>Without DI: its own HttpClient with the same retry pipeline the DI registration uses.</summary>
    public JobTrailClient(JobTrailClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var handler = new ResilienceHandler(JobTrailResilience.Build(options))
        {
            InnerHandler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), ConnectTimeout = TimeSpan.FromSeconds(10) },
        };
        http = new HttpClient(handler, disposeHandler: true);
        Configure(http, options);
        ownsHttp = true;
    }

    /// <summary>On an HttpClient already configured (base address, Authorization, retries) by the caller or the factory.</summary>
    public JobTrailClient(HttpClient httpClient)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        http = httpClient;
    }

    internal static void Configure(HttpClient client, JobTrailClientOptions options)
    {
        client.BaseAddress = options.BaseAddress;
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.ApiKey);
        // Streams stay open for as long as a job runs; each request's own bound is the resilience pipeline's.
        client.Timeout = Timeout.InfiniteTimeSpan;
    }

    public void Dispose()
    {
        if (ownsHttp)
        {
            http.Dispose();
        }
    }

    /// <summary>A background emitter that batches this client's events (see <see cref="JobEventBuffer"/>).</summary>
    public JobEventBuffer CreateEventBuffer(JobEventBufferOptions? options = null) => new(this, options ?? new JobEventBufferOptions());

    /// <summary>Creates a job and sets it RUNNING; dispose the scope to complete or fail it (see <see cref="JobScope"/>).</summary>
    public async Task<JobScope> StartJobAsync(string type, string? name = null, object? metadata = null, CancellationToken cancellationToken = default)
    {
        var job = await CreateJobAsync(type, name, metadata, cancellationToken);
        return new JobScope(this, await ChangeJobStatusAsync(job.Id, JobStatus.Running, cancellationToken: cancellationToken));
    }

    // ---- Runner jobs ----

    public Task<RunnerJob> CreateJobAsync(string type, string? name = null, object? metadata = null, CancellationToken cancellationToken = default) =>
        SendAsync<RunnerJob>(HttpMethod.Post, "api/runner-jobs", new { type, name, metadata }, cancellationToken);

    public Task<RunnerJob> GetJobAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        SendAsync<RunnerJob>(HttpMethod.Get, $"api/runner-jobs/{jobId}", null, cancellationToken);

    public Task<Page<RunnerJob>> ListJobsAsync(JobStatus? status = null, string? type = null, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        SendAsync<Page<RunnerJob>>(HttpMethod.Get, "api/runner-jobs" + Query(
            ("status", status is { } s ? JobTrailJson.Enum(s) : null), ("type", type), ("limit", Number(limit)), ("cursor", cursor)), null, cancellationToken);

    public Task<RunnerJob> ChangeJobStatusAsync(Guid jobId, JobStatus status, string? error = null, CancellationToken cancellationToken = default) =>
        SendAsync<RunnerJob>(HttpMethod.Post, $"api/runner-jobs/{jobId}/status", new { status, error }, cancellationToken);

    // ---- Steps ----

    public Task<JobStep> CreateStepAsync(Guid jobId, string name, StepPhase phase = StepPhase.Execution, StepType type = StepType.Command, int? ordinal = null, CancellationToken cancellationToken = default) =>
        SendAsync<JobStep>(HttpMethod.Post, $"api/runner-jobs/{jobId}/steps", new { name, phase, type, ordinal }, cancellationToken);

    public Task<Page<JobStep>> ListStepsAsync(Guid jobId, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        SendAsync<Page<JobStep>>(HttpMethod.Get, $"api/runner-jobs/{jobId}/steps" + Query(("limit", Number(limit)), ("cursor", cursor)), null, cancellationToken);

    public Task<JobStep> GetStepAsync(Guid jobId, Guid stepId, CancellationToken cancellationToken = default) =>
        SendAsync<JobStep>(HttpMethod.Get, $"api/runner-jobs/{jobId}/steps/{stepId}", null, cancellationToken);

    public Task<JobStep> ChangeStepStatusAsync(Guid jobId, Guid stepId, StepStatus status, string? error = null, CancellationToken cancellationToken = default) =>
        SendAsync<JobStep>(HttpMethod.Post, $"api/runner-jobs/{jobId}/steps/{stepId}/status", new { status, error }, cancellationToken);

    /// <summary>Adds token counts to an AI_ACTION step (409 for other step types).</summary>
    public Task<JobStep> RecordTokensAsync(Guid jobId, Guid stepId, long input, long output, CancellationToken cancellationToken = default) =>
        SendAsync<JobStep>(HttpMethod.Post, $"api/runner-jobs/{jobId}/steps/{stepId}/tokens", new { input, output }, cancellationToken);

    // ---- Events ----

    /// <summary>
    /// Appends one event. The Idempotency-Key (a new one unless given) is fixed before the first
    /// attempt, so a retry after a lost answer returns the first event instead of writing a second.
    /// </summary>
    public Task<JobEvent> EmitEventAsync(Guid jobId, NewJobEvent newEvent, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        SendAsync<JobEvent>(HttpMethod.Post, $"api/runner-jobs/{jobId}/events", newEvent, cancellationToken, idempotencyKey ?? NewIdempotencyKey());

    /// <summary>Appends up to 1000 events, all or nothing, under one Idempotency-Key (new unless given).</summary>
    public async Task<IReadOnlyList<JobEvent>> EmitEventsAsync(Guid jobId, IReadOnlyList<NewJobEvent> events, string? idempotencyKey = null, CancellationToken cancellationToken = default) =>
        (await SendAsync<Page<JobEvent>>(HttpMethod.Post, $"api/runner-jobs/{jobId}/events/batch", new { events }, cancellationToken, idempotencyKey ?? NewIdempotencyKey())).Items;

    public Task<Page<JobEvent>> ListEventsAsync(Guid jobId, EventQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new EventQuery();
        return SendAsync<Page<JobEvent>>(HttpMethod.Get, $"api/runner-jobs/{jobId}/events" + Query(
            ("types", query.Types is { Count: > 0 } types ? string.Join(',', types) : null),
            ("afterSeq", Number(query.AfterSeq)),
            ("from", Time(query.From)),
            ("to", Time(query.To)),
            ("limit", Number(query.Limit)),
            ("cursor", query.Cursor)), null, cancellationToken);
    }

    /// <summary>The job's latest events (at most <paramref name="count"/>, seq ascending).</summary>
    public Task<Page<JobEvent>> GetRecentEventsAsync(Guid jobId, int? count = null, CancellationToken cancellationToken = default) =>
        SendAsync<Page<JobEvent>>(HttpMethod.Get, $"api/runner-jobs/{jobId}/events/recent" + Query(("count", Number(count))), null, cancellationToken);

    public Task<JobEvent> GetEventAsync(Guid jobId, Guid eventId, CancellationToken cancellationToken = default) =>
        SendAsync<JobEvent>(HttpMethod.Get, $"api/runner-jobs/{jobId}/events/{eventId}", null, cancellationToken);

    public Task<ChainVerification> VerifyEventsAsync(Guid jobId, CancellationToken cancellationToken = default) =>
        SendAsync<ChainVerification>(HttpMethod.Get, $"api/runner-jobs/{jobId}/events/verify", null, cancellationToken);

    // ---- Activity ----

    public Task<Page<ActivityRecord>> ListActivityAsync(ActivityQuery? query = null, CancellationToken cancellationToken = default)
    {
        query ??= new ActivityQuery();
        return SendAsync<Page<ActivityRecord>>(HttpMethod.Get, "api/activity" + Query(
            ("actorId", query.ActorId),
            ("action", query.Action),
            ("entityType", query.EntityType),
            ("entityId", query.EntityId),
            ("outcome", query.Outcome is { } o ? JobTrailJson.Enum(o) : null),
            ("from", Time(query.From)),
            ("to", Time(query.To)),
            ("limit", Number(query.Limit)),
            ("cursor", query.Cursor)), null, cancellationToken);
    }

    public Task<ActivityRecord> GetActivityAsync(Guid id, CancellationToken cancellationToken = default) =>
        SendAsync<ActivityRecord>(HttpMethod.Get, $"api/activity/{id}", null, cancellationToken);

    /// <summary>The entity's whole trail, oldest first.</summary>
    public Task<Page<ActivityRecord>> GetAuditTrailAsync(string entityType, string entityId, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        SendAsync<Page<ActivityRecord>>(HttpMethod.Get, $"api/activity/audit/{Uri.EscapeDataString(entityType)}/{Uri.EscapeDataString(entityId)}"
            + Query(("limit", Number(limit)), ("cursor", cursor)), null, cancellationToken);

    /// <summary>Records an outside fact (e.g. <c>auth.login</c>) in the workspace's activity.</summary>
    public Task<ActivityRecord> RecordActivityAsync(string action, string entityType, string? entityId, object? metadata = null, CancellationToken cancellationToken = default) =>
        SendAsync<ActivityRecord>(HttpMethod.Post, "api/activity", new { action, entityType, entityId, metadata }, cancellationToken);

    public Task<ChainVerification> VerifyActivityAsync(long? fromSeq = null, long? toSeq = null, CancellationToken cancellationToken = default) =>
        SendAsync<ChainVerification>(HttpMethod.Get, "api/activity/verify" + Query(("fromSeq", Number(fromSeq)), ("toSeq", Number(toSeq))), null, cancellationToken);

    // ---- Workspaces and keys ----

    public Task<Workspace> CreateWorkspaceAsync(string slug, string name, CancellationToken cancellationToken = default) =>
        SendAsync<Workspace>(HttpMethod.Post, "api/workspaces", new { slug, name }, cancellationToken);

    public Task<CreatedApiKey> CreateApiKeyAsync(Guid workspaceId, string name, string actorId, IReadOnlyList<string> scopes, CancellationToken cancellationToken = default) =>
        SendAsync<CreatedApiKey>(HttpMethod.Post, $"api/workspaces/{workspaceId}/api-keys", new { name, actorId, scopes }, cancellationToken);

    public Task<Page<ApiKey>> ListApiKeysAsync(Guid workspaceId, int? limit = null, string? cursor = null, CancellationToken cancellationToken = default) =>
        SendAsync<Page<ApiKey>>(HttpMethod.Get, $"api/workspaces/{workspaceId}/api-keys" + Query(("limit", Number(limit)), ("cursor", cursor)), null, cancellationToken);

    public async Task RevokeApiKeyAsync(Guid workspaceId, Guid keyId, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, $"api/workspaces/{workspaceId}/api-keys/{keyId}");
        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    // ---- Plumbing ----

    internal static string NewIdempotencyKey() => Guid.NewGuid().ToString("N");

    internal HttpClient Http => http;

    internal static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (!response.IsSuccessStatusCode)
        {
            throw await JobTrailApiException.FromResponseAsync(response, cancellationToken);
        }
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken cancellationToken, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            // Buffered once, so every retry sends the same bytes.
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, body.GetType(), JobTrailJson.Options));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        }

        if (idempotencyKey is not null)
        {
            request.Headers.Add(JobTrailResilience.IdempotencyKeyHeader, idempotencyKey);
        }

        using var response = await http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadFromJsonAsync<T>(JobTrailJson.Options, cancellationToken)
            ?? throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode} with an empty body.");
    }

    private static string? Number(long? value) => value?.ToString(CultureInfo.InvariantCulture);

    private static string? Time(DateTimeOffset? value) => value?.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is null)
            {
                continue;
            }

            query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
        }

        return query.ToString();
    }
}
