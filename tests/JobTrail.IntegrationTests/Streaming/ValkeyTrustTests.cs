using System.Text.Json;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>The relay on; SSE's periodic PostgreSQL check out of reach, so what a stream sends comes from its backfill or live messages.</summary>
public sealed class TrustFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Relay:PollInterval"] = "00:00:00.100",
        ["JobTrail:Events:Stream:CatchUpInterval"] = "01:00:00",
        ["JobTrail:Events:Stream:Heartbeat"] = "00:00:00.200",
        // About the path through the relay, Valkey and PostgreSQL: the emitting instance's own head start (ADR 0044) would get there first.
        ["JobTrail:Events:Stream:LocalDelivery"] = "false",
    },
    null);

/// <summary>
/// Whoever can write to Valkey must not be able to make the service serve anything but the job's own
/// events: entries and messages that do not verify are ignored and PostgreSQL answers instead.
/// </summary>
public sealed class ValkeyTrustTests(TrustFixture fixture) : IClassFixture<TrustFixture>, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    private readonly ValkeyClient valkey = new(
        Environment.GetEnvironmentVariable("JobTrail__Valkey") ?? throw new InvalidOperationException("JobTrail__Valkey is not set."),
        NullLogger<ValkeyClient>.Instance);

    private readonly ValkeyTamper tamper = ValkeyTamper.FromEnvironment();

    [Fact]
    public async Task Another_tenants_entries_copied_into_a_jobs_stream_key_are_served_neither_by_recent_nor_by_the_stream()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobA = (await a.Client.CreateJobAsync(name: "secret-a")).Id();
        var jobB = (await b.Client.CreateJobAsync(name: "b")).Id();
        (await a.Client.EmitBatchAsync(jobA, [new { type = "step.output", payload = new { secret = "tenant-a" } }, new { type = "step.progress" }])).EnsureStatus(201);
        (await b.Client.EmitBatchAsync(jobB, [new { type = "step.output", payload = new { line = "tenant-b" } }, new { type = "step.progress" }])).EnsureStatus(201);
        await WaitInStreamAsync(jobA, 3);
        await WaitInStreamAsync(jobB, 3);
        using var rejected = new MetricProbe("jobtrail.valkey.rejected");

        Assert.Equal(3, await tamper.CopyStreamAsync(ValkeyKeys.Stream(jobA), ValkeyKeys.Stream(jobB)));

        var storedB = await b.Client.ListAllEventsAsync(jobB);
        var recent = (await b.Client.GetJsonAsync($"/api/runner-jobs/{jobB}/events/recent?count=3")).EnsureStatus(200);
        Assert.Equal("postgres", recent.Message.Headers.GetValues("X-JobTrail-Source").Single());
        Assert.Equal(storedB.Select(e => e.GetRawText()), recent.Json.GetProperty("items").EnumerateArray().Select(e => e.GetRawText()));

        await using var sse = await SseClient.OpenAsync(b.Client, $"/api/runner-jobs/{jobB}/events/stream");
        await Eventually.TrueAsync(() => sse.Events.Count >= 3, Deadline, "three events on B's stream");
        Assert.Equal(storedB.Select(e => e.GetRawText()), sse.Events.Select(e => e.Data));
        Assert.DoesNotContain(sse.Events, e => e.Data!.Contains("tenant-a", StringComparison.Ordinal));
        Assert.Contains(rejected.Measurements, m => m.Tags.Contains(new KeyValuePair<string, object?>("source", "stream")));
    }

    [Fact]
    public async Task A_forged_live_message_neither_reaches_the_client_nor_ends_its_stream()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await WaitInStreamAsync(jobId, 1);
        await using var sse = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => sse.Events.Count == 1, Deadline, "job.created on the stream");
        using var rejected = new MetricProbe("jobtrail.valkey.rejected");

        // While the job is PENDING: a bare forged terminal event, and one in the published shape whose signature is made up.
        await tamper.PublishAsync(ValkeyKeys.Channel(jobId), """{"seq":2,"type":"job.completed"}""");
        await tamper.PublishAsync(ValkeyKeys.Channel(jobId), $$$"""{"seq":2,"sig":"k:AAAA","event":{"id":"{{{Guid.NewGuid()}}}","jobId":"{{{jobId}}}","seq":2,"type":"job.completed"}}""");
        await Eventually.TrueAsync(
            () => rejected.Measurements.Count(m => m.Tags.Contains(new KeyValuePair<string, object?>("source", "live"))) >= 2 || sse.Ended || sse.Events.Count > 1,
            Deadline, "the forged messages to be handled");

        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        await Eventually.TrueAsync(() => sse.Events.Count >= 2 || sse.Ended, Deadline, "the real seq 2");

        Assert.False(sse.Ended, "the stream ended");
        Assert.Equal(["job.created", "job.started"], sse.Events.Select(e => e.Event));
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Select(e => e.GetRawText()), sse.Events.Select(e => e.Data));
    }

    [Fact]
    public async Task A_live_message_for_a_seq_the_jobs_streams_already_have_is_dropped_unread_whether_replayed_or_forged()
    {
        var hub = fixture.App.Services.GetRequiredService<JobEventHub>();
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await WaitInStreamAsync(jobId, 1);
        await using var sse = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => sse.Events.Count == 1, Deadline, "job.created on the stream");

        // The relay's own message for seq 2, as published: authentic, and replayed below.
        var published = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using (await valkey.SubscribeAsync(ValkeyKeys.Channel(jobId), published.Enqueue))
        {
            (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
            await Eventually.TrueAsync(() => sse.Events.Count == 2 && !published.IsEmpty, Deadline, "job.started on the stream and on the channel");
        }

        var authentic = published.Single(m => LiveMessage.TryParse(m)?.Seq == 2);
        using var rejected = new MetricProbe("jobtrail.valkey.rejected");
        var skipped = hub.SkippedCopies;
        await tamper.PublishAsync(ValkeyKeys.Channel(jobId), authentic);
        await tamper.PublishAsync(ValkeyKeys.Channel(jobId), $$$"""{"seq":1,"sig":"k:AAAA","event":{"id":"{{{Guid.NewGuid()}}}","jobId":"{{{jobId}}}","seq":1,"type":"job.completed"}}""");
        await Eventually.TrueAsync(() => hub.SkippedCopies >= skipped + 2, Deadline, "both messages to be dropped");

        // Neither was verified (so neither counts as rejected) nor offered: the stream goes on with the next real event.
        Assert.DoesNotContain(rejected.Measurements, m => m.Tags.Contains(new KeyValuePair<string, object?>("source", "live")));
        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        await sse.WaitForEndAsync(Deadline);
        Assert.Equal(["job.created", "job.started", "job.completed"], sse.Events.Select(e => e.Event));
        Assert.Equal([1L, 2L, 3L], sse.Events.Select(e => e.Id!.Value));
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Select(e => e.GetRawText()), sse.Events.Select(e => e.Data));
    }

    [Fact]
    public async Task A_malformed_entry_in_a_jobs_stream_is_neither_a_500_nor_the_end_of_its_stream()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await WaitInStreamAsync(jobId, 1);
        await tamper.DeleteAsync(ValkeyKeys.Stream(jobId));
        await tamper.AddEntryAsync(ValkeyKeys.Stream(jobId), "1-1", "e", "{not json");
        var stored = await client.ListAllEventsAsync(jobId);

        var recent = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?count=1")).EnsureStatus(200);
        Assert.Equal("postgres", recent.Message.Headers.GetValues("X-JobTrail-Source").Single());
        Assert.Equal(stored.Select(e => e.GetRawText()), recent.Json.GetProperty("items").EnumerateArray().Select(e => e.GetRawText()));

        // Every connect backfills past the bad entry from PostgreSQL and stays open for what follows.
        for (var connect = 0; connect < 2; connect++)
        {
            await using var sse = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
            await Eventually.TrueAsync(() => sse.Events.Count >= 1 && sse.Frames.Count(f => f.IsComment) >= 2 || sse.Ended, Deadline, "seq 1 and then heartbeats");
            Assert.False(sse.Ended, "the stream ended");
            Assert.Equal(stored[0].GetRawText(), sse.Events[0].Data);
        }

        await using (var live = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream"))
        {
            await Eventually.TrueAsync(() => live.Events.Count >= 1 || live.Ended, Deadline, "seq 1");
            (await client.SetJobStatusAsync(jobId, "CANCELLED")).EnsureStatus(200);
            await live.WaitForEndAsync(Deadline);
            Assert.Equal(["job.created", "job.cancelled"], live.Events.Select(e => e.Event));
        }
    }

    public void Dispose()
    {
        valkey.Dispose();
        tamper.Dispose();
    }

    private Task WaitInStreamAsync(Guid jobId, long seq) =>
        Eventually.GetAsync(() => valkey.ReadNewestAsync(ValkeyKeys.Stream(jobId), 1), s => s.Count == 1 && s[0].Seq == seq, Deadline, $"seq {seq} in the stream");
}
