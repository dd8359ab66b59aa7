using System.Text.Json;
using JobTrail.Client.Tests.Infrastructure;

namespace JobTrail.Client.Tests;

/// <summary>The host is stopped and started again on the same port and database under the client's feet.</summary>
public sealed class ClientResilienceTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_buffer_rides_out_a_server_restart_with_nothing_lost_and_nothing_duplicated()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var job = await client.CreateJobAsync("build");
        await using (var buffer = client.CreateEventBuffer(new JobEventBufferOptions { MaxBatchSize = 50, FlushInterval = TimeSpan.FromMilliseconds(20) }))
        {
            for (var i = 0; i < 200; i++)
            {
                await buffer.EnqueueAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { i }));
            }

            await buffer.FlushAsync();
            await fixture.StopAsync();
            for (var i = 200; i < 500; i++)
            {
                await buffer.EnqueueAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { i }));
            }

            await fixture.StartAsync();
            await buffer.FlushAsync();
            Assert.Equal(0, buffer.LostCount);
            Assert.Equal(500, buffer.SentCount);
        }

        Assert.Equal(Enumerable.Range(0, 500), await JobTrailClientTests.OutputIndexesAsync(client, job.Id));
        Assert.True((await client.VerifyEventsAsync(job.Id)).Valid);
    }

    [Fact]
    public async Task The_stream_resumes_after_a_dropped_connection_without_gap_or_duplicate()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var job = await client.CreateJobAsync("build");
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Running);
        using var timeout = new CancellationTokenSource(Deadline);
        var seen = new List<JobEvent>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in client.StreamEventsAsync(job.Id, cancellationToken: timeout.Token))
            {
                lock (seen)
                {
                    seen.Add(e);
                }
            }
        });

        await client.EmitEventsAsync(job.Id, [.. Enumerable.Range(0, 3).Select(i => NewJobEvent.Create(JobEventType.StepOutput, new { i }))]);
        await Eventually.TrueAsync(() => { lock (seen) { return seen.Count == 5; } }, Deadline, "the events before the drop");

        await fixture.RestartAsync();
        await client.EmitEventsAsync(job.Id, [.. Enumerable.Range(3, 3).Select(i => NewJobEvent.Create(JobEventType.StepOutput, new { i }))]);
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Completed);
        await reading;

        Assert.Equal(Enumerable.Range(1, 9).Select(s => (long)s), seen.Select(e => e.Seq));
        Assert.Equal(Enumerable.Range(0, 6), seen.Where(e => e.Type == JobEventType.StepOutput).Select(e => e.Payload!.Value.GetProperty("i").GetInt32()));
        Assert.Equal(JobEventType.JobCompleted, seen[^1].Type);
    }

    [Fact]
    public async Task Events_the_buffer_gives_up_on_are_recorded_in_the_jobs_log_once_the_server_answers()
    {
        var (client, _) = await fixture.TenantAsync(o => o.MaxRetryAttempts = 1);
        using var _ = client;
        var job = await client.CreateJobAsync("build");
        await using var buffer = client.CreateEventBuffer(new JobEventBufferOptions
        {
            GiveUpAfter = TimeSpan.FromMilliseconds(300),
            MaxRetryDelay = TimeSpan.FromMilliseconds(200),
        });
        await buffer.EnqueueAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { i = 0 }));
        await buffer.FlushAsync();

        await fixture.StopAsync();
        for (var i = 1; i <= 10; i++)
        {
            await buffer.EnqueueAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { i }));
        }

        await Eventually.TrueAsync(() => buffer.LostCount == 10, Deadline, "the buffer to give up on the 10 events");
        await fixture.StartAsync();
        await buffer.EnqueueAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { i = 11 }));
        await buffer.FlushAsync();

        var events = (await client.ListEventsAsync(job.Id, new EventQuery(AfterSeq: 1))).Items;
        Assert.Equal([JobEventType.StepOutput, JobEventType.ClientEventsLost, JobEventType.StepOutput], events.Select(e => e.Type));
        var loss = events[1].Payload!.Value;
        Assert.Equal(10, loss.GetProperty("count").GetInt32());
        Assert.Equal((2L, 11L), (loss.GetProperty("firstBufferSeq").GetInt64(), loss.GetProperty("lastBufferSeq").GetInt64()));
        Assert.True(loss.GetProperty("from").GetDateTime() <= loss.GetProperty("to").GetDateTime());
        Assert.Equal(JsonValueKind.String, loss.GetProperty("reason").ValueKind);
        Assert.Equal(11, events[2].Payload!.Value.GetProperty("i").GetInt32());
    }
}
