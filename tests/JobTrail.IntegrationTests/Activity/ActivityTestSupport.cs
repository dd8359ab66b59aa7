using System.Net.Http.Json;
using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;
using Npgsql;

namespace JobTrail.IntegrationTests.Activity;

/// <summary>An activity row as PostgreSQL holds it (read as the service role, under row-level security).</summary>
public sealed record ActivityRow(
    Guid Id,
    long Position,
    Guid WorkspaceId,
    string ActorId,
    string Action,
    string EntityType,
    string? EntityId,
    string Outcome,
    string? Metadata,
    string? IpAddress,
    string? UserAgent,
    string? CorrelationId,
    DateTime OccurredAt)
{
    public JsonElement MetadataJson => JsonDocument.Parse(Metadata ?? "null").RootElement.Clone();
}

/// <summary>Where a test request claims to come from: the headers the request context is filled from.</summary>
public sealed record Origin(string CorrelationId, string UserAgent, string? Peer = null, string? ForwardedFor = null)
{
    public static Origin New(string? peer = null, string? forwardedFor = null) =>
        new("act-" + Guid.NewGuid().ToString("N"), "jobtrail-tests/1.0 (+activity)", peer, forwardedFor);
}

public static class ActivityTestSupport
{
    private const string Columns =
        "id, position, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata::text, host(ip_address), user_agent, correlation_id, occurred_at";

    public static Task<List<ActivityRow>> ActivityRowsAsync(this JobTrailFixture fixture, Guid workspaceId, string where = "true") =>
        fixture.QueryAsServiceAsync($"select {Columns} from activity.activity_logs where {where} order by position", workspaceId.ToString(), Read);

    public static Task<List<ActivityRow>> ActivityRowsForAsync(this JobTrailFixture fixture, Guid workspaceId, Origin origin) =>
        fixture.ActivityRowsAsync(workspaceId, $"correlation_id = '{origin.CorrelationId}'");

    public static async Task<ApiResponse> SendAsync(this HttpClient client, HttpMethod method, string path, object? body, Origin origin)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        request.Headers.TryAddWithoutValidation("User-Agent", origin.UserAgent);
        request.Headers.Add("X-Correlation-Id", origin.CorrelationId);
        if (origin.Peer is not null)
        {
            request.Headers.Add(TestPeerAddress.HeaderName, origin.Peer);
        }

        if (origin.ForwardedFor is not null)
        {
            request.Headers.Add("X-Forwarded-For", origin.ForwardedFor);
        }

        return await Infrastructure.HttpClientJsonExtensions.ReadAsync(await client.SendAsync(request));
    }

    /// <summary>Every page of a list, following <c>nextCursor</c>; fails on a page that repeats an id.</summary>
    public static async Task<List<JsonElement>> AllPagesAsync(this HttpClient client, string path, int limit)
    {
        var items = new List<JsonElement>();
        var seen = new HashSet<Guid>();
        string? cursor = null;
        var separator = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
        do
        {
            var url = $"{path}{separator}limit={limit}" + (cursor is null ? string.Empty : $"&cursor={Uri.EscapeDataString(cursor)}");
            var page = (await client.GetJsonAsync(url)).EnsureStatus(200).Json;
            var pageItems = page.GetProperty("items").EnumerateArray().ToList();
            Assert.True(pageItems.Count <= limit, $"page of {pageItems.Count} items exceeds limit {limit}");
            foreach (var item in pageItems)
            {
                Assert.True(seen.Add(item.Id()), $"activity {item.Id()} appeared on two pages");
                items.Add(item);
            }

            cursor = page.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextCursor").GetString();
            Assert.True(cursor is null || pageItems.Count == limit, "a page before the last one is short");
        }
        while (cursor is not null);

        return items;
    }

    private static ActivityRow Read(NpgsqlDataReader r) => new(
        r.GetGuid(0),
        r.GetInt64(1),
        r.GetGuid(2),
        r.GetString(3),
        r.GetString(4),
        r.GetString(5),
        r.IsDBNull(6) ? null : r.GetString(6),
        r.GetString(7),
        r.IsDBNull(8) ? null : r.GetString(8),
        r.IsDBNull(9) ? null : r.GetString(9),
        r.IsDBNull(10) ? null : r.GetString(10),
        r.IsDBNull(11) ? null : r.GetString(11),
        r.GetDateTime(12));
}
