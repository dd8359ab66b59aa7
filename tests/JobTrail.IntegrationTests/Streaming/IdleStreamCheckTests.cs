using System.Collections.Concurrent;
using System.Diagnostics;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>
/// A short periodic check and heartbeat, so a few check intervals pass quickly. The relay is off (the
/// fixture default): an emitted event reaches PostgreSQL only, never Valkey.
/// </summary>
public sealed class IdleStreamFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Events:Stream:CatchUpInterval"] = "00:00:00.250",
        // About the path through the relay, Valkey and PostgreSQL: the emitting instance's own head start (ADR 0044) would get there first.
        ["JobTrail:Events:Stream:LocalDelivery"] = "false",
        ["JobTrail:Events:Stream:Heartbeat"] = "00:00:00.250",
        ["JobTrail:Events:Stream:MaxStreamsPerWorkspace"] = "50",
        ["JobTrail:Events:Stream:MaxShareOfWorkspacePerKey"] = "1",
    },
    null);

public sealed class IdleStreamCheckTests(IdleStreamFixture fixture) : IClassFixture<IdleStreamFixture>
{
    private const int Streams = 20;
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Idle_streams_are_checked_with_a_shared_query_not_one_per_stream()
    {
        var tenant = await fixture.CreateTenantAsync();
        var jobs = new List<Guid>();
        for (var i = 0; i < 5; i++)
        {
            jobs.Add((await tenant.Client.CreateJobAsync()).Id());
        }

        var streams = new List<SseClient>();
        try
        {
            for (var i = 0; i < Streams; i++)
            {
                streams.Add(await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{jobs[i % jobs.Count]}/events/stream"));
            }

            await Eventually.TrueAsync(() => streams.All(s => s.Events.Count == 1), Deadline, "every stream to get job.created");

            // From here on nothing happens to the jobs: every statement that reads their logs is a periodic check.
            using var statements = new LogReads(fixture.App.Database);
            var pings = streams.Select(s => s.Frames.Count(f => f.IsComment)).ToList();
            // Three heartbeats per stream span at least three check intervals (both 250 ms).
            await Eventually.TrueAsync(
                () => streams.Select((s, i) => s.Frames.Count(f => f.IsComment) - pings[i]).All(n => n >= 3), Deadline, "three heartbeats on every stream");
            var seen = statements.Count;

            Assert.True(
                seen < Streams,
                $"{seen} statements read the idle jobs' logs over three check intervals of {Streams} streams; a shared check needs about one per interval");
            Assert.All(streams, s => Assert.False(s.Ended, "a stream ended"));
        }
        finally
        {
            foreach (var stream in streams)
            {
                await stream.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task An_event_only_in_postgres_reaches_idle_streams_of_its_job_through_the_shared_check()
    {
        var tenant = await fixture.CreateTenantAsync();
        var quiet = (await tenant.Client.CreateJobAsync()).Id();
        var busy = (await tenant.Client.CreateJobAsync()).Id();
        await using var quietStream = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{quiet}/events/stream");
        await using var first = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{busy}/events/stream");
        await using var second = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{busy}/events/stream", lastEventId: "1");
        await Eventually.TrueAsync(() => quietStream.Events.Count == 1 && first.Events.Count == 1, Deadline, "job.created on the streams that start at 0");

        // The relay is off: no live message and no Valkey stream entry will ever carry seq 2 and 3.
        (await tenant.Client.EmitBatchAsync(busy, [new { type = "step.output", payload = new { line = "a" } }, new { type = "step.output", payload = new { line = "b" } }]))
            .EnsureStatus(201);
        await Eventually.TrueAsync(() => first.Events.Count == 3 && second.Events.Count == 2, Deadline, "seq 2 and 3 on both streams of the job");

        var stored = await tenant.Client.ListAllEventsAsync(busy);
        Assert.Equal(stored.Select(e => e.GetRawText()), first.Events.Select(e => e.Data));
        Assert.Equal(stored.Skip(1).Select(e => e.GetRawText()), second.Events.Select(e => e.Data));
        Assert.Equal(["job.created"], quietStream.Events.Select(e => e.Event));
    }

    /// <summary>Counts Npgsql's command spans against one database that read a job's log or its head.</summary>
    private sealed class LogReads : IDisposable
    {
        private readonly ActivityListener listener;
        private readonly ConcurrentQueue<string> texts = new();

        public LogReads(string database)
        {
            listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Npgsql",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
                ActivityStopped = activity =>
                {
                    if (Equals(activity.GetTagItem("db.namespace"), database) && activity.GetTagItem("db.query.text") is string text
                        && (text.Contains("job_events.events", StringComparison.Ordinal) || text.Contains("job_events.job_streams", StringComparison.Ordinal)))
                    {
                        texts.Enqueue(text);
                    }
                },
            };
            ActivitySource.AddActivityListener(listener);
        }

        public int Count => texts.Count;

        public void Dispose() => listener.Dispose();
    }
}
