using System.Globalization;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>
/// The test database plus one job with job.created and 5,000 client events, made once for the class:
/// event i has type ClientTypes[i % 4] and occurred at Start + i seconds.
/// </summary>
public sealed class BigEventLogFixture : IAsyncLifetime
{
    public const int Events = 5000;
    public static readonly string[] ClientTypes = ["step.progress", "step.output", "ai.tool_called", "gate.passed"];
    public static readonly DateTime Start = new(2026, 3, 1, 0, 0, 0, DateTimeKind.Utc);

    public JobTrailFixture App { get; } = new();

    public Guid JobId { get; private set; }

    public async Task InitializeAsync()
    {
        await App.InitializeAsync();
        var client = App.Client();
        JobId = (await client.CreateJobAsync("ci", "big")).Id();
        for (var batch = 0; batch < Events / 1000; batch++)
        {
            var events = Enumerable.Range(batch * 1000, 1000).Select(i => (object)new
            {
                type = ClientTypes[i % ClientTypes.Length],
                payload = new { i },
                occurredAt = Start.AddSeconds(i),
            });
            (await client.EmitBatchAsync(JobId, events)).EnsureStatus(201);
        }
    }

    public Task DisposeAsync() => App.DisposeAsync();
}

public sealed class ListEventsForJobTests(BigEventLogFixture log) : IClassFixture<BigEventLogFixture>
{
    private const int BigJobEvents = BigEventLogFixture.Events;
    private static readonly DateTime Start = BigEventLogFixture.Start;
    private readonly JobTrailFixture fixture = log.App;
    private readonly Guid bigJob = log.JobId;

    [Theory]
    [InlineData(1000)]
    [InlineData(333)]
    [InlineData(100)]
    public async Task Paging_walks_a_5000_event_job_completely_in_order_without_overlap(int limit)
    {
        var events = await fixture.Client().ListAllEventsAsync(bigJob, limit: limit);

        Assert.Equal(BigJobEvents + 1, events.Count);
        EventsApi.AssertGapless(events);
        Assert.Equal(BigJobEvents + 1, events.Select(e => e.Id()).Distinct().Count());
        Assert.Equal(Enumerable.Range(0, BigJobEvents), events.Skip(1).Select(e => e.GetProperty("payload").GetProperty("i").GetInt32()));
    }

    [Fact]
    public async Task The_default_page_is_100_events_and_the_last_page_has_no_cursor()
    {
        var client = fixture.Client();
        var first = (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events")).EnsureStatus(200).Json;
        Assert.Equal(100, first.GetProperty("items").GetArrayLength());
        Assert.NotNull(first.Str("nextCursor"));

        var last = (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events?afterSeq={BigJobEvents - 9}")).EnsureStatus(200).Json;
        Assert.Equal(10, last.GetProperty("items").GetArrayLength());
        Assert.Null(last.Str("nextCursor"));
    }

    [Fact]
    public async Task Filtering_by_types_walks_exactly_the_matching_events_in_order()
    {
        var events = await fixture.Client().ListAllEventsAsync(bigJob, "types=step.output,gate.passed", limit: 300);

        var expected = Enumerable.Range(0, BigJobEvents).Where(i => i % 4 is 1 or 3).ToList();
        Assert.Equal(expected, events.Select(e => e.GetProperty("payload").GetProperty("i").GetInt32()));
        Assert.All(events, e => Assert.Contains(e.Type(), new[] { "step.output", "gate.passed" }));
        var seqs = events.Select(e => e.Seq()).ToList();
        Assert.Equal(seqs.Order(), seqs);
    }

    [Fact]
    public async Task Filtering_by_afterSeq_starts_after_that_seq()
    {
        var events = await fixture.Client().ListAllEventsAsync(bigJob, "afterSeq=4990");

        Assert.Equal(Enumerable.Range(4991, 11).Select(i => (long)i), events.Select(e => e.Seq()));
    }

    [Fact]
    public async Task Filtering_by_time_keeps_events_that_occurred_from_inclusive_to_exclusive()
    {
        var from = Start.AddSeconds(1200).ToString("O", CultureInfo.InvariantCulture);
        var to = Start.AddSeconds(2700).ToString("O", CultureInfo.InvariantCulture);

        var events = await fixture.Client().ListAllEventsAsync(bigJob, $"from={from}&to={to}&types=step.progress", limit: 50);

        var expected = Enumerable.Range(1200, 1500).Where(i => i % 4 == 0).ToList();
        Assert.Equal(expected, events.Select(e => e.GetProperty("payload").GetProperty("i").GetInt32()));
    }

    [Fact]
    public async Task A_cursor_continues_after_its_page_even_with_an_earlier_afterSeq()
    {
        var client = fixture.Client();
        var page = (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events?afterSeq=10&limit=5")).EnsureStatus(200).Json;
        var cursor = page.Str("nextCursor");

        var next = (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events?afterSeq=10&limit=5&cursor={cursor}")).EnsureStatus(200).Json;

        Assert.Equal([11L, 12, 13, 14, 15], page.GetProperty("items").EnumerateArray().Select(e => e.Seq()));
        Assert.Equal([16L, 17, 18, 19, 20], next.GetProperty("items").EnumerateArray().Select(e => e.Seq()));
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("types=step.output,job.exploded")]
    [InlineData("afterSeq=-1")]
    [InlineData("from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z")]
    [InlineData("from=yesterday")]
    public async Task Malformed_list_parameters_are_a_400(string query)
    {
        var response = await fixture.Client().GetJsonAsync($"/api/runner-jobs/{bigJob}/events?{query}");
        response.EnsureProblem(400);
    }

    [Fact]
    public async Task Listing_an_unknown_job_is_a_404_and_a_job_without_client_events_lists_its_own()
    {
        var client = fixture.Client();
        (await client.GetJsonAsync($"/api/runner-jobs/{Guid.CreateVersion7()}/events")).EnsureProblem(404, "job_not_found");

        var job = (await client.CreateJobAsync()).Id();
        var only = (await client.GetJsonAsync($"/api/runner-jobs/{job}/events?types=step.output")).EnsureStatus(200).Json;
        Assert.Equal(0, only.GetProperty("items").GetArrayLength());
        Assert.Null(only.Str("nextCursor"));
    }

    [Fact]
    public async Task Getting_an_event_needs_the_right_job()
    {
        var client = fixture.Client();
        var other = (await client.CreateJobAsync()).Id();
        var first = (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events?limit=1")).Json.GetProperty("items")[0];

        (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events/{first.Id()}")).EnsureStatus(200);
        (await client.GetJsonAsync($"/api/runner-jobs/{other}/events/{first.Id()}")).EnsureProblem(404, "event_not_found");
        (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events/{Guid.CreateVersion7()}")).EnsureProblem(404, "event_not_found");
        (await client.GetJsonAsync($"/api/runner-jobs/{Guid.CreateVersion7()}/events/{first.Id()}")).EnsureProblem(404, "job_not_found");
        (await client.GetJsonAsync($"/api/runner-jobs/{bigJob}/events/not-a-guid")).EnsureProblem(404);
    }
}
