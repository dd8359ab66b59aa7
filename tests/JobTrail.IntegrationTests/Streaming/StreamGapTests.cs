using System.Text.Json;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Relay;
using JobTrail.Modules.JobEvents.Delivery;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>
/// The relay is off (the fixture default): the tests write the job's Valkey stream themselves. The
/// periodic catch-up is pushed out of reach, so only the gap repair itself can deliver a missing seq.
/// </summary>
public sealed class NoPeriodicCatchUpFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Events:Stream:CatchUpInterval"] = "01:00:00",
        // About the path through the relay, Valkey and PostgreSQL: the emitting instance's own head start (ADR 0044) would get there first.
        ["JobTrail:Events:Stream:LocalDelivery"] = "false",
    },
    null);

public sealed class StreamGapTests(NoPeriodicCatchUpFixture fixture) : IClassFixture<NoPeriodicCatchUpFixture>, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly ValkeyClient valkey = new(
        Environment.GetEnvironmentVariable("JobTrail__Valkey") ?? throw new InvalidOperationException("JobTrail__Valkey is not set."),
        NullLogger<ValkeyClient>.Instance);

    [Fact]
    public async Task A_hole_in_the_valkey_stream_is_filled_from_postgres_and_a_live_event_never_jumps_it()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 9).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(10, stored.Count);

        // A stream as an older snapshot might leave it: 1..6, then 8 and 9 — seq 7 is missing.
        Assert.Equal(8, (await AppendAsync(jobId, stored.Where(e => e.Seq() is <= 6 or 8 or 9))).Appended);

        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream", lastEventId: "4");
        await Eventually.TrueAsync(() => stream.Events.Count >= 5, Deadline, "the backfill to reach seq 9");

        // Then seq 10 arrives live.
        var last = stored.Single(e => e.Seq() == 10);
        Assert.Equal(1, (await AppendAsync(jobId, [last])).Appended);
        await Eventually.TrueAsync(() => stream.Events.Count >= 6, Deadline, "seq 10");

        Assert.Equal([5L, 6L, 7L, 8L, 9L, 10L], stream.Events.Select(e => e.Id!.Value));
        Assert.Equal(stored.Skip(4).Select(e => e.GetRawText()), stream.Events.Select(e => e.Data));
    }

    [Fact]
    public async Task A_live_message_that_does_not_verify_is_dropped_and_postgres_read_instead()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => stream.Events.Count == 1, Deadline, "job.created");

        // The relay is off: the real seq 2 is only in PostgreSQL; a forged seq 2 arrives live.
        (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { line = "real" } })).EnsureStatus(201);
        using var tamper = ValkeyTamper.FromEnvironment();
        await tamper.PublishAsync(ValkeyKeys.Channel(jobId), """{"seq":2,"type":"job.completed"}""");
        await Eventually.TrueAsync(() => stream.Events.Count >= 2 || stream.Ended, Deadline, "seq 2");

        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Select(e => e.GetRawText()), stream.Events.Select(e => e.Data));
        Assert.False(stream.Ended, "the stream ended");
    }

    /// <summary>Appends and publishes stored events as the relay would, signed with the host's key.</summary>
    private Task<AppendOutcome> AppendAsync(Guid jobId, IEnumerable<JsonElement> events)
    {
        var integrity = fixture.App.Services.GetRequiredService<DeliveryIntegrity>();
        var entries = events
            .Select(e => new StreamAppend(e.Seq(), e.GetRawText(), integrity.Sign(jobId, fixture.DefaultWorkspaceId, e.Seq(), e.GetRawText()), Terminal: false))
            .ToList();
        return valkey.AppendAndPublishAsync(ValkeyKeys.Stream(jobId), ValkeyKeys.Channel(jobId), entries, 1000, TimeSpan.FromDays(1));
    }

    public void Dispose() => valkey.Dispose();
}
