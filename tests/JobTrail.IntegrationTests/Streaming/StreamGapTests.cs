using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>
/// The relay is off (the fixture default): the tests write the job's Valkey stream themselves. The
/// periodic catch-up is pushed out of reach, so only the gap repair itself can deliver a missing seq.
/// </summary>
public sealed class NoPeriodicCatchUpFixture() : JobTrailFixture(
    new Dictionary<string, string?> { ["JobTrail:Events:Stream:CatchUpInterval"] = "01:00:00" },
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
        foreach (var e in stored.Where(e => e.Seq() is <= 6 or 8 or 9))
        {
            Assert.True(await valkey.AppendAndPublishAsync(ValkeyKeys.Stream(jobId), ValkeyKeys.Channel(jobId), e.Seq(), e.GetRawText(), 1000));
        }

        await using var stream = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream", lastEventId: "4");
        await Eventually.TrueAsync(() => stream.Events.Count >= 5, Deadline, "the backfill to reach seq 9");

        // Then seq 10 arrives live.
        var last = stored.Single(e => e.Seq() == 10);
        Assert.True(await valkey.AppendAndPublishAsync(ValkeyKeys.Stream(jobId), ValkeyKeys.Channel(jobId), 10, last.GetRawText(), 1000));
        await Eventually.TrueAsync(() => stream.Events.Count >= 6, Deadline, "seq 10");

        Assert.Equal([5L, 6L, 7L, 8L, 9L, 10L], stream.Events.Select(e => e.Id!.Value));
        Assert.Equal(stored.Skip(4).Select(e => e.GetRawText()), stream.Events.Select(e => e.Data));
    }

    public void Dispose() => valkey.Dispose();
}
