using System.Globalization;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.IntegrationTests.Streaming;

namespace JobTrail.IntegrationTests.MultiInstance;

public sealed class SseAcrossInstancesFixture : InstancesFixture;

/// <summary>SSE clients of one instance see what another instance wrote, also across the death of their own instance.</summary>
public sealed class SseAcrossInstancesTests(SseAcrossInstancesFixture fixture) : IClassFixture<SseAcrossInstancesFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_client_streaming_from_instance_B_gets_every_event_emitted_through_instance_A_in_order()
    {
        await fixture.EnsureRunningAsync();
        var writer = fixture.A.Client(fixture.BootstrapKey);
        var reader = fixture.B.Client(fixture.BootstrapKey);
        var jobId = (await writer.CreateJobAsync()).Id();
        await using var stream = await SseClient.OpenAsync(reader, $"/api/runner-jobs/{jobId}/events/stream");
        (await writer.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        for (var i = 0; i < 10; i++)
        {
            (await writer.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201);
        }

        (await writer.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        await stream.WaitForEndAsync(Deadline);

        var stored = await writer.ListAllEventsAsync(jobId);
        Assert.Equal(13, stored.Count);
        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long?)i), stream.Events.Select(e => e.Id));
        Assert.Equal(stored.Select(e => e.GetRawText()), stream.Events.Select(e => e.Data));
    }

    [Fact]
    public async Task A_client_whose_instance_is_killed_resumes_on_the_other_with_last_event_id_without_gap_or_duplicate()
    {
        await fixture.EnsureRunningAsync();
        var writer = fixture.A.Client(fixture.BootstrapKey);
        var path = $"/api/runner-jobs/{(await writer.CreateJobAsync()).Id()}/events/stream";
        var jobId = Guid.Parse(path.Split('/')[3]);
        var first = await SseClient.OpenAsync(fixture.B.Client(fixture.BootstrapKey), path);
        (await writer.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        for (var i = 0; i < 10; i++)
        {
            (await writer.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201);
        }

        await Eventually.TrueAsync(() => first.Events.Count >= 12, Deadline, "the first 12 events on instance B");
        await fixture.B.KillAsync();
        await Eventually.TrueAsync(() => first.Ended, Deadline, "the stream to break with its instance");
        var beforeDeath = first.Events;
        try
        {
            await first.DisposeAsync();
        }
        catch (IOException)
        {
            // The connection was cut by the kill: that is the point.
        }
        catch (HttpRequestException)
        {
            // Likewise.
        }

        // Written while the client has no connection at all.
        for (var i = 10; i < 15; i++)
        {
            (await writer.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201);
        }

        var lastSeen = beforeDeath[^1].Id!.Value;
        await using var second = await SseClient.OpenAsync(writer, path, lastSeen.ToString(CultureInfo.InvariantCulture));
        for (var i = 15; i < 20; i++)
        {
            (await writer.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201);
        }

        (await writer.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        await second.WaitForEndAsync(Deadline);

        var stored = await writer.ListAllEventsAsync(jobId);
        Assert.Equal(23, stored.Count);
        var received = beforeDeath.Concat(second.Events).ToList();
        Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long?)i), received.Select(e => e.Id));
        Assert.Equal(stored.Select(e => e.GetRawText()), received.Select(e => e.Data));
    }
}
