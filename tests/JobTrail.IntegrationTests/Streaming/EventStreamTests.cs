using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Relay;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Streaming;

public sealed class StreamFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
        // About the path through the relay, Valkey and PostgreSQL: the emitting instance's own head start (ADR 0044) would get there first.
        ["JobTrail:Events:Stream:LocalDelivery"] = "false",
        ["JobTrail:Events:Stream:Heartbeat"] = "00:00:00.200",
        ["JobTrail:Events:Stream:CatchUpInterval"] = "00:00:01",
        ["JobTrail:Events:Stream:MaxStreamsPerWorkspace"] = "3",
        // These tests open several streams with one key; the per-key share has tests of its own.
        ["JobTrail:Events:Stream:MaxShareOfWorkspacePerKey"] = "1",
    },
    null);

public sealed class EventStreamTests(StreamFixture fixture) : IClassFixture<StreamFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_client_connected_before_the_job_runs_gets_every_event_in_order_and_the_stream_ends_after_completion()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        Assert.Equal("text/event-stream", stream.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("no-cache", stream.Response.Headers.CacheControl?.ToString());
        Assert.Equal("no", stream.Response.Headers.GetValues("X-Accel-Buffering").Single());

        (await client.SetJobStatusAsync(jobId, "QUEUED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        var step = (await client.CreateStepAsync(jobId, "build")).Id();
        (await client.SetStepStatusAsync(jobId, step, "RUNNING")).EnsureStatus(200);
        for (var i = 0; i < 5; i++)
        {
            (await client.EmitEventAsync(jobId, new { type = "step.output", stepId = step, payload = new { line = i } })).EnsureStatus(201);
        }

        (await client.SetStepStatusAsync(jobId, step, "COMPLETED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        await stream.WaitForEndAsync(Deadline);

        var events = stream.Events;
        string[] expected = ["job.created", "job.queued", "job.started", "step.started", .. Enumerable.Repeat("step.output", 5), "step.completed", "job.completed"];
        Assert.Equal(expected, events.Select(e => e.Event));
        Assert.Equal(Enumerable.Range(1, expected.Length).Select(i => (long?)i), events.Select(e => e.Id));
        Assert.All(events, e => Assert.Equal(e.Id, e.Json.Seq()));
        Assert.Equal("3000", stream.Frames.First().Retry);
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Select(e => e.GetRawText()), events.Select(e => e.Data));
    }

    [Fact]
    public async Task Emits_are_relayed_from_what_their_commit_returned_equal_to_the_stored_rows()
    {
        var handOff = fixture.App.Services.GetRequiredService<CommittedEvents>();
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        var takenBefore = handOff.Taken;

        // Payloads that PostgreSQL's jsonb rewrites (key order, spacing, escapes): what is relayed must be its text.
        const string raw = """{"zeta": 1,   "a": "caf\u00e9 \"q\"", "nested": {"b": [1, 2.50], "a": null}}""";
        for (var i = 0; i < 4; i++)
        {
            (await client.PostRawAsync($"/api/runner-jobs/{jobId}/events", $$"""{"type":"step.output","payload":{{raw}}}""")).EnsureStatus(201);
        }

        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 3).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        await stream.WaitForEndAsync(Deadline);

        // Seven client events went through the group writer; the relay sent them without reading them back.
        Assert.True(handOff.Taken - takenBefore >= 7, $"{handOff.Taken - takenBefore} events were taken from the hand-off");
        var stored = await client.ListAllEventsAsync(jobId);
        // Byte for byte what the REST API returns, non-ASCII text and quotes included, with or without the hand-off.
        Assert.Equal(stored.Count, stream.Events.Count);
        for (var k = 0; k < stored.Count; k++)
        {
            Assert.Equal(stored[k].GetRawText(), stream.Events[k].Data);
        }

        // The stored payload is jsonb's rewrite, not the text sent: the comparison above is not of two copies of the request.
        var relayed = stream.Events.First(e => e.Json.GetProperty("payload").TryGetProperty("zeta", out _));
        Assert.Equal("café \"q\"", relayed.Json.GetProperty("payload").GetProperty("a").GetString());
        Assert.DoesNotContain(raw, relayed.Data!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reconnecting_with_last_event_id_10_of_a_2500_event_job_receives_11_to_2500_exactly_once()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        foreach (var size in new[] { 1000, 1000, 497 })
        {
            (await client.EmitBatchAsync(jobId, Enumerable.Range(0, size).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        }

        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        // Wait until the relay has moved everything, so the Valkey stream holds only the newest ~1000.
        var state = fixture.App.Services.GetRequiredService<RelayState>();
        await Eventually.TrueAsync(() => state.Backlog == 0 && state.Relayed >= 2500, Deadline, "the relay to drain the outbox");

        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream", lastEventId: "10");
        await stream.WaitForEndAsync(Deadline);

        var ids = stream.Events.Select(e => e.Id!.Value).ToList();
        Assert.Equal(Enumerable.Range(11, 2490).Select(i => (long)i), ids);
        Assert.Equal("job.completed", stream.Events[^1].Event);
    }

    [Fact]
    public async Task After_seq_in_the_query_resumes_like_last_event_id_and_a_stream_after_the_end_closes_at_once()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(jobId, "CANCELLED")).EnsureStatus(200);

        await using (var resumed = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream?afterSeq=1"))
        {
            await resumed.WaitForEndAsync(Deadline);
            Assert.Equal(["job.cancelled"], resumed.Events.Select(e => e.Event));
        }

        await using var finished = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream", lastEventId: "2");
        await finished.WaitForEndAsync(Deadline);
        Assert.Empty(finished.Events);
    }

    [Fact]
    public async Task Heartbeats_arrive_while_the_job_is_idle()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();

        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");

        await Eventually.TrueAsync(() => stream.Frames.Count(f => f.IsComment) >= 3, Deadline, "three heartbeats");
        Assert.Equal(["job.created"], stream.Events.Select(e => e.Event));
        Assert.False(stream.Ended);
    }

    [Fact]
    public async Task Listeners_of_one_job_share_a_single_valkey_subscription()
    {
        var hub = fixture.App.Services.GetRequiredService<JobEventHub>();
        var tenant = await fixture.CreateTenantAsync();
        var jobC = (await tenant.Client.CreateJobAsync()).Id();
        var baseline = hub.Subscriptions;

        await using (var first = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{jobC}/events/stream"))
        await using (var second = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{jobC}/events/stream"))
        {
            await Eventually.TrueAsync(() => first.Events.Count == 1 && second.Events.Count == 1, Deadline, "both streams to start");
            Assert.Equal(baseline + 1, hub.Subscriptions);
            (await tenant.Client.SetJobStatusAsync(jobC, "RUNNING")).EnsureStatus(200);
            await Eventually.TrueAsync(() => first.Events.Count == 2 && second.Events.Count == 2, Deadline, "both streams to get job.started");
        }

        await Eventually.TrueAsync(() => hub.Subscriptions == baseline, Deadline, "the subscription to be released");
    }

    [Fact]
    public async Task Streams_per_workspace_are_capped_with_a_429()
    {
        var tenant = await fixture.CreateTenantAsync();
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        var open = new List<SseClient>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                var stream = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{jobId}/events/stream");
                Assert.Equal(200, (int)stream.Response.StatusCode);
                open.Add(stream);
            }

            var refused = await HttpClientJsonExtensions.ReadAsync(await tenant.Client.GetAsync($"/api/runner-jobs/{jobId}/events/stream"));
            refused.EnsureProblem(429, "too_many_streams");
            Assert.True(refused.Message.Headers.Contains("Retry-After"));
            var other = await fixture.CreateTenantAsync();
            var otherJob = (await other.Client.CreateJobAsync()).Id();
            await using var unaffected = await SseClient.OpenAsync(other.Client, $"/api/runner-jobs/{otherJob}/events/stream");
            Assert.Equal(200, (int)unaffected.Response.StatusCode);
        }
        finally
        {
            foreach (var stream in open)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_stream_of_an_unknown_or_foreign_job_is_a_404_and_a_bad_last_event_id_a_400()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobId = (await a.Client.CreateJobAsync()).Id();

        (await HttpClientJsonExtensions.ReadAsync(await b.Client.GetAsync($"/api/runner-jobs/{jobId}/events/stream"))).EnsureProblem(404);
        (await HttpClientJsonExtensions.ReadAsync(await a.Client.GetAsync($"/api/runner-jobs/{Guid.CreateVersion7()}/events/stream"))).EnsureProblem(404);
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/runner-jobs/{jobId}/events/stream");
        request.Headers.Add("Last-Event-ID", "not-a-seq");
        (await HttpClientJsonExtensions.ReadAsync(await a.Client.SendAsync(request))).EnsureProblem(400, "validation_failed");
        (await HttpClientJsonExtensions.ReadAsync(await a.Client.GetAsync($"/api/runner-jobs/{jobId}/events/stream?afterSeq=-1"))).EnsureProblem(400);
    }

    [Fact]
    public async Task A_listener_that_falls_a_whole_buffer_behind_is_cut_off()
    {
        var hub = fixture.App.Services.GetRequiredService<JobEventHub>();
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var listener = await hub.ListenAsync(jobId, fixture.DefaultWorkspaceId, capacity: 2, CancellationToken.None);
        Assert.True(listener.IsLive);

        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 5).Select(_ => (object)new { type = "step.output" }))).EnsureStatus(201);
        await Eventually.TrueAsync(() => listener.Overflowed, Deadline, "the listener to overflow");

        Assert.NotNull(await listener.ReadAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        Assert.NotNull(await listener.ReadAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
        await Assert.ThrowsAsync<ClientTooSlowException>(() => listener.ReadAsync(TimeSpan.FromSeconds(5), CancellationToken.None));
    }
}
