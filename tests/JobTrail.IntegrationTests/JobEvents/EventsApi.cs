using System.Net.Http.Json;
using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>Short-hands for the event endpoints.</summary>
public static class EventsApi
{
    public static Task<ApiResponse> EmitEventAsync(this HttpClient client, Guid jobId, object body, string? idempotencyKey = null) =>
        client.SendJsonAsync($"/api/runner-jobs/{jobId}/events", JsonContent.Create(body), idempotencyKey);

    public static Task<ApiResponse> EmitBatchAsync(this HttpClient client, Guid jobId, IEnumerable<object> events, string? idempotencyKey = null) =>
        client.SendJsonAsync($"/api/runner-jobs/{jobId}/events/batch", JsonContent.Create(new { events }), idempotencyKey);

    public static async Task<ApiResponse> SendJsonAsync(this HttpClient client, string path, HttpContent content, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Infrastructure.HttpClientJsonExtensions.ReadAsync(await client.SendAsync(request));
    }

    /// <summary>Walks every page of a job's events (with the given filters), failing on any repeated seq.</summary>
    public static async Task<List<JsonElement>> ListAllEventsAsync(this HttpClient client, Guid jobId, string filters = "", int limit = 1000)
    {
        var all = new List<JsonElement>();
        string? cursor = null;
        for (var page = 0; page < 10_000; page++)
        {
            var query = $"limit={limit}{(filters.Length > 0 ? "&" + filters : string.Empty)}{(cursor is null ? string.Empty : "&cursor=" + cursor)}";
            var json = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events?{query}")).EnsureStatus(200).Json;
            var items = json.GetProperty("items").EnumerateArray().ToList();
            Assert.True(items.Count <= limit, $"a page held {items.Count} items, more than limit {limit}");
            all.AddRange(items);
            cursor = json.GetProperty("nextCursor").ValueKind == JsonValueKind.Null ? null : json.GetProperty("nextCursor").GetString();
            if (cursor is null)
            {
                return all;
            }

            Assert.NotEmpty(items);
        }

        throw new InvalidOperationException("The event list never ended.");
    }

    public static long Seq(this JsonElement e) => e.GetProperty("seq").GetInt64();

    public static string Type(this JsonElement e) => e.GetProperty("type").GetString()!;

    public static Guid? StepId(this JsonElement e) =>
        e.GetProperty("stepId").ValueKind == JsonValueKind.Null ? null : e.GetProperty("stepId").GetGuid();

    /// <summary>Asserts the seqs are exactly 1..n in order.</summary>
    public static void AssertGapless(IReadOnlyList<JsonElement> events)
    {
        var seqs = events.Select(Seq).ToList();
        Assert.Equal(Enumerable.Range(1, seqs.Count).Select(i => (long)i), seqs);
    }

    /// <summary>Rows of a job_events table as the owner sees them for a workspace (RLS is forced on the owner too).</summary>
    public static async Task<long> CountAsOwnerAsync(this JobTrailFixture fixture, string table, Guid workspaceId, Guid? jobId = null) =>
        await fixture.ScalarAsOwnerAsync<long>(
            $"select count(*) from job_events.{table}" + (jobId is null ? string.Empty : $" where job_id = '{jobId}'"),
            workspaceId.ToString());
}
