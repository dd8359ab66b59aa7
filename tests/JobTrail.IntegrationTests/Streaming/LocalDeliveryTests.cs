using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>
/// No relay, and the streams' own checks of PostgreSQL far apart: a live event can only reach a stream of this
/// instance from its group writer, or from a catch-up the test asks for.
/// </summary>
public sealed class LocalDeliveryFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Relay:Enabled"] = "false",
        ["JobTrail:Events:Stream:CatchUpInterval"] = "01:00:00",
        ["JobTrail:Events:Stream:OfflinePollInterval"] = "01:00:00",
        ["JobTrail:Events:Stream:MaxShareOfWorkspacePerKey"] = "1",
    },
    null);

public sealed class LocalDeliveryTests(LocalDeliveryFixture fixture) : IClassFixture<LocalDeliveryFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private JobEventHub Hub => fixture.App.Services.GetRequiredService<JobEventHub>();

    [Fact]
    public async Task Emits_reach_a_stream_of_this_instance_without_the_relay_as_the_stored_rows()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count == 1, Deadline, "the backfill of job.created");

        var before = Hub.DeliveredCommitted;
        for (var i = 0; i < 3; i++)
        {
            (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = i, text = "<b>\u00e9\u2028</b>" } })).EnsureStatus(201);
        }

        (await client.EmitBatchAsync(jobId, [new { type = "ai.tool_called", payload = new { n = 1 } }, new { type = "ai.tool_called", payload = new { n = 2 } }])).EnsureStatus(201);

        // Offered before each request was answered.
        Assert.Equal(before + 5, Hub.DeliveredCommitted);
        await Eventually.TrueAsync(() => stream.Events.Count == 6, Deadline, "the five emits on the stream");
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long?)i), stream.Events.Select(e => e.Id));
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Select(e => e.GetRawText()), stream.Events.Select(e => e.Data));
        Assert.Equal(stored.Select(e => e.Type()), stream.Events.Select(e => e.Event));
    }

    [Fact]
    public async Task An_emit_after_a_system_event_still_on_its_way_waits_for_it_and_the_order_holds()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count == 1, Deadline, "the backfill of job.created");

        (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = 1 } })).EnsureStatus(201);
        // A system event (seq 3): written by the job command in its own transaction, delivered only by the relay,
        // which is off here. The emit after it (seq 4) must not overtake it.
        (await client.SetJobStatusAsync(jobId, "QUEUED")).EnsureStatus(200);
        var before = Hub.DeliveredCommitted;
        (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = 2 } })).EnsureStatus(201);
        Assert.Equal(before, Hub.DeliveredCommitted);

        // What the relay's copy or the periodic check would do: ask the streams behind PostgreSQL to catch up.
        await Hub.CheckAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => stream.Events.Count == 4, Deadline, "the catch-up of seq 3 and 4");

        Assert.Equal(new long?[] { 1, 2, 3, 4 }, stream.Events.Select(e => e.Id));
        Assert.Equal(new[] { "job.created", "step.output", "job.queued", "step.output" }, stream.Events.Select(e => e.Event));

        // In line again: the next emit goes straight to the stream.
        (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = 3 } })).EnsureStatus(201);
        Assert.Equal(before + 1, Hub.DeliveredCommitted);
        await Eventually.TrueAsync(() => stream.Events.Count == 5, Deadline, "seq 5 on the stream");
        Assert.Equal((long?)5, stream.Events[^1].Id);
    }

    [Fact]
    public async Task Two_streams_of_one_job_each_get_every_emit_once_and_a_job_without_streams_gets_none()
    {
        var client = fixture.Client();
        var listened = (await client.CreateJobAsync()).Id();
        var quiet = (await client.CreateJobAsync()).Id();
        await using var first = await SseClient.OpenAsync(client, $"/api/runner-jobs/{listened}/events/stream");
        await using var second = await SseClient.OpenAsync(client, $"/api/runner-jobs/{listened}/events/stream");
        await Eventually.TrueAsync(() => first.Events.Count == 1 && second.Events.Count == 1, Deadline, "both backfills");

        var before = Hub.DeliveredCommitted;
        (await client.EmitEventAsync(quiet, new { type = "step.output", payload = new { line = 0 } })).EnsureStatus(201);
        Assert.Equal(before, Hub.DeliveredCommitted);

        var emits = Enumerable.Range(0, 20)
            .Select(i => client.EmitEventAsync(listened, new { type = "step.output", payload = new { line = i } }));
        foreach (var response in await Task.WhenAll(emits))
        {
            response.EnsureStatus(201);
        }

        Assert.Equal(before + 40, Hub.DeliveredCommitted);
        await Eventually.TrueAsync(() => first.Events.Count == 21 && second.Events.Count == 21, Deadline, "20 emits on both streams");
        Assert.Equal(Enumerable.Range(1, 21).Select(i => (long?)i), first.Events.Select(e => e.Id));
        Assert.Equal(first.Events.Select(e => e.Data), second.Events.Select(e => e.Data));
    }
}

/// <summary>The same instance with local delivery off: only the relay (off here) or a catch-up reaches a stream.</summary>
public sealed class LocalDeliveryOffFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Relay:Enabled"] = "false",
        ["JobTrail:Events:Stream:LocalDelivery"] = "false",
        ["JobTrail:Events:Stream:CatchUpInterval"] = "01:00:00",
        ["JobTrail:Events:Stream:OfflinePollInterval"] = "01:00:00",
    },
    null);

public sealed class LocalDeliveryOffTests(LocalDeliveryOffFixture fixture) : IClassFixture<LocalDeliveryOffFixture>
{
    [Fact]
    public async Task With_local_delivery_off_an_emit_waits_for_the_relay_or_a_catch_up()
    {
        var hub = fixture.App.Services.GetRequiredService<JobEventHub>();
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count == 1, TimeSpan.FromSeconds(60), "the backfill of job.created");

        (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = 1 } })).EnsureStatus(201);
        Assert.Equal(0, hub.DeliveredCommitted);

        await hub.CheckAsync(CancellationToken.None);
        await Eventually.TrueAsync(() => stream.Events.Count == 2, TimeSpan.FromSeconds(60), "the catch-up of seq 2");
        Assert.Equal(new long?[] { 1, 2 }, stream.Events.Select(e => e.Id));
    }
}

/// <summary>Both paths at once, as deployed: the head start and the relay's copy through Valkey.</summary>
public sealed class LocalDeliveryWithRelayFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
        ["JobTrail:Events:Stream:CatchUpInterval"] = "00:00:01",
        ["JobTrail:Events:Stream:MaxShareOfWorkspacePerKey"] = "1",
    },
    null);

public sealed class LocalDeliveryWithRelayTests(LocalDeliveryWithRelayFixture fixture) : IClassFixture<LocalDeliveryWithRelayFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Emits_between_system_events_reach_the_stream_once_each_in_order_and_the_relay_still_fills_valkey()
    {
        var hub = fixture.App.Services.GetRequiredService<JobEventHub>();
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count == 1, Deadline, "the backfill of job.created");
        var before = hub.DeliveredCommitted;

        (await client.SetJobStatusAsync(jobId, "QUEUED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        var step = (await client.CreateStepAsync(jobId, "build")).Id();
        (await client.SetStepStatusAsync(jobId, step, "RUNNING")).EnsureStatus(200);
        var emits = Enumerable.Range(0, 30)
            .Select(i => client.EmitEventAsync(jobId, new { type = "step.output", stepId = step, payload = new { line = i } }));
        foreach (var response in await Task.WhenAll(emits))
        {
            response.EnsureStatus(201);
        }

        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 5).Select(i => (object)new { type = "step.progress", stepId = step, payload = new { i } }))).EnsureStatus(201);
        (await client.SetStepStatusAsync(jobId, step, "COMPLETED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        await stream.WaitForEndAsync(Deadline);

        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(41, stored.Count);
        Assert.Equal(Enumerable.Range(1, 41).Select(i => (long?)i), stream.Events.Select(e => e.Id));
        Assert.Equal(stored.Select(e => e.GetRawText()), stream.Events.Select(e => e.Data));
        // The head start was taken for emits that were next in line; the relay's copies of those were dropped.
        Assert.True(hub.DeliveredCommitted > before, "no emit reached the stream from the group writer");

        // The relay still wrote everything to the job's Valkey stream: recent events are served from there.
        var recent = await Eventually.GetAsync(
            async () => (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?count=5")).EnsureStatus(200),
            r => r.Message.Headers.GetValues("X-JobTrail-Source").Single() == "valkey", Deadline, "recent events from Valkey");
        Assert.Equal(stored.TakeLast(5).Select(e => e.Seq()), recent.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq()));
    }
}

/// <summary>The defaults: the relay on, and this instance's streams served first from its own commits.</summary>
public sealed class RelayedLocalDeliveryFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Events:Stream:CatchUpInterval"] = "01:00:00",
    },
    null);

public sealed class RelayedLocalDeliveryTests(RelayedLocalDeliveryFixture fixture) : IClassFixture<RelayedLocalDeliveryFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_relays_copies_of_events_a_stream_already_has_are_dropped_unread_and_it_sends_each_event_once()
    {
        var hub = fixture.App.Services.GetRequiredService<JobEventHub>();
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count == 1, Deadline, "the backfill of job.created");

        var delivered = hub.DeliveredCommitted;
        var skipped = hub.SkippedCopies;
        for (var i = 0; i < 3; i++)
        {
            (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = i } })).EnsureStatus(201);
        }

        Assert.Equal(delivered + 3, hub.DeliveredCommitted);
        // The relay publishes each of the three after the writer handed it to the stream: each copy is dropped unread.
        await Eventually.TrueAsync(() => hub.SkippedCopies >= skipped + 3, Deadline, "the relay's three copies");
        (await client.SetJobStatusAsync(jobId, "CANCELLED")).EnsureStatus(200);
        await stream.WaitForEndAsync(Deadline);

        Assert.Equal(Enumerable.Range(1, 5).Select(i => (long?)i), stream.Events.Select(e => e.Id));
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Select(e => e.GetRawText()), stream.Events.Select(e => e.Data));
    }

    [Fact]
    public async Task An_emits_answer_its_live_frame_its_valkey_entry_and_the_stored_row_are_the_same_bytes()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count == 1, Deadline, "the backfill of job.created");

        // Text the encoder treats differently: HTML characters, a separator, non-ASCII inside and outside the BMP.
        var single = (await client.EmitEventAsync(
            jobId, new { type = "step.output", payload = new { text = "<b>\u00e9\u2028&'\"</b> \U0001F600", n = 12345678901234567890m, z = -0.0 } }))
            .EnsureStatus(201);
        var batch = (await client.EmitBatchAsync(
            jobId, [new { type = "ai.tool_called", payload = new { tool = "grep", args = new[] { "-n", "</script>" } } }, new { type = "step.output" }]))
            .EnsureStatus(201);

        // The bodies are exactly the JSON they announce: one event, or {"items":[…]}, each as the log returns it.
        Assert.Equal("application/json; charset=utf-8", single.Message.Content.Headers.ContentType?.ToString());
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(single.Body), single.Message.Content.Headers.ContentLength);
        Assert.Equal(System.Text.Encoding.UTF8.GetByteCount(batch.Body), batch.Message.Content.Headers.ContentLength);
        Assert.Equal(["items"], batch.Json.EnumerateObject().Select(p => p.Name));
        var answered = new[] { single.Body }.Concat(batch.Json.GetProperty("items").EnumerateArray().Select(e => e.GetRawText())).ToList();
        Assert.Equal(single.Json.GetRawText(), single.Body);
        Assert.Equal($"{{\"items\":[{string.Join(',', answered.Skip(1))}]}}", batch.Body);

        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Skip(1).Select(e => e.GetRawText()), answered);
        await Eventually.TrueAsync(() => stream.Events.Count == 4, Deadline, "the three emits on the stream");
        Assert.Equal(answered, stream.Events.Skip(1).Select(e => e.Data));
        var recent = await Eventually.GetAsync(
            async () => (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?count=3")).EnsureStatus(200),
            r => r.Message.Headers.GetValues("X-JobTrail-Source").Single() == "valkey"
                && r.Json.GetProperty("items").GetArrayLength() == 3, Deadline, "the three emits in the job's Valkey stream");
        Assert.Equal(answered, recent.Json.GetProperty("items").EnumerateArray().Select(e => e.GetRawText()));
    }
}
