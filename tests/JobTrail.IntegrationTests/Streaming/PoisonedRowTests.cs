using System.Text.Json;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>
/// A relay with small batches (so a stuck row would soon fill a whole batch), quick retries and three
/// attempts, whose log lines the tests read. SSE checks PostgreSQL twice a second.
/// </summary>
public sealed class PoisonFixture : JobTrailFixture
{
    public PoisonFixture()
        : this(new CapturedLogs())
    {
    }

    private PoisonFixture(CapturedLogs logs)
        : base(
            new Dictionary<string, string?>
            {
                ["JobTrail:Relay:Enabled"] = "true",
                ["JobTrail:Relay:BatchSize"] = "4",
                ["JobTrail:Relay:PollInterval"] = "00:00:00.100",
                ["JobTrail:Relay:MinBackoff"] = "00:00:00.050",
                ["JobTrail:Relay:MaxBackoff"] = "00:00:00.200",
                ["JobTrail:Relay:MaxAttempts"] = "3",
                ["JobTrail:Events:Stream:CatchUpInterval"] = "00:00:00.500",
                // About the path through the relay, Valkey and PostgreSQL: the emitting instance's own head start (ADR 0044) would get there first.
                ["JobTrail:Events:Stream:LocalDelivery"] = "false",
            },
            services => services.AddSingleton<ILoggerProvider>(logs))
    {
        Logs = logs;
    }

    public CapturedLogs Logs { get; }
}

/// <summary>
/// A job whose stream key is not a stream (someone ran <c>SET &lt;key&gt; x</c>): its rows fail for a
/// reason of their own, and must neither stop other jobs nor be retried forever.
/// </summary>
public sealed class PoisonedRowTests(PoisonFixture fixture) : IClassFixture<PoisonFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>The statement docs/delivery.md gives operators to re-drive every parked row.</summary>
    private const string RedriveSql = "update job_events.outbox set parked_at = null, attempts = 0 where parked_at is not null";

    private readonly ValkeyClient valkey = new(
        Environment.GetEnvironmentVariable("JobTrail__Valkey") ?? throw new InvalidOperationException("JobTrail__Valkey is not set."),
        NullLogger<ValkeyClient>.Instance);

    private readonly ValkeyTamper tamper = ValkeyTamper.FromEnvironment();

    private readonly List<Guid> poisonedJobs = [];

    [Fact]
    public async Task A_row_failing_on_its_own_key_is_parked_after_max_attempts_while_other_jobs_keep_flowing()
    {
        var client = fixture.Client();
        var poisoned = (await client.CreateJobAsync()).Id();
        var healthy = (await client.CreateJobAsync()).Id();
        await WaitInStreamAsync(poisoned, 1);
        await WaitInStreamAsync(healthy, 1);
        using var parkedGauge = new MetricProbe("jobtrail.relay.parked");
        await PoisonAsync(poisoned);
        // Interleaved, so the poisoned job's rows sit in the same batches as the healthy job's.
        (await client.SetJobStatusAsync(poisoned, "RUNNING")).EnsureStatus(200);
        (await client.EmitBatchAsync(healthy, Enumerable.Range(0, 20).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        (await client.EmitBatchAsync(poisoned, Enumerable.Range(0, 3).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        (await client.EmitBatchAsync(healthy, Enumerable.Range(0, 5).Select(i => (object)new { type = "step.progress", payload = new { i } }))).EnsureStatus(201);

        // Every event of the healthy job reaches its stream, and its outbox rows are gone.
        var stream = await Eventually.GetAsync(
            () => valkey.ReadAfterAsync(ValkeyKeys.Stream(healthy), 0, 100), s => s.Count == 26, Deadline, "26 events of the healthy job in its stream");
        Assert.Equal(Enumerable.Range(1, 26).Select(i => (long)i), stream.Select(e => e.Seq));
        await Eventually.GetAsync(() => OutboxCountAsync(healthy), n => n == 0, Deadline, "the healthy job's outbox rows to be deleted");

        // The poisoned job's first undelivered row (job.started) was tried 3 times, then parked; the batch's row
        // (one row for its three events) waits untried behind it.
        var rows = await Eventually.GetAsync(
            () => fixture.QueryAsServiceAsync(
                $"select seq, last_seq, attempts, parked_at is not null from job_events.outbox where job_id = '{poisoned}' order by seq",
                null, r => (Seq: r.GetInt64(0), LastSeq: r.GetInt64(1), Attempts: r.GetInt32(2), Parked: r.GetBoolean(3))),
            r => r.Count > 0 && r[0].Parked, Deadline, "the poisoned job's row to be parked");
        Assert.Equal([(2L, 2L, 3, true), (3L, 5L, 0, false)], rows);

        // Reported: readiness Degraded (still 200), a gauge, and a warning naming the job and the error.
        // Readiness counts are taken at most once a second: wait for this job's, not an earlier test's.
        var relay = await Eventually.GetAsync(
            RelayReadinessAsync,
            r => r.GetProperty("data").GetProperty("parked").GetInt64() == 1 && r.GetProperty("data").GetProperty("held").GetInt64() == 3,
            Deadline, "readiness to report the parked event and the 3 held behind it");
        Assert.Equal("Degraded", relay.GetProperty("status").GetString());
        parkedGauge.Observe();
        Assert.Contains(parkedGauge.Measurements, m => m.Value == 1);
        Assert.Contains(fixture.Logs.Entries, e =>
            e.Level == LogLevel.Warning && e.Message.Contains(poisoned.ToString(), StringComparison.Ordinal)
            && e.Message.Contains("parked", StringComparison.Ordinal) && e.Message.Contains("WRONGTYPE", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_live_stream_of_a_job_with_parked_rows_receives_every_event_from_postgres_and_ends()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await WaitInStreamAsync(jobId, 1);
        await using var sse = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        await Eventually.TrueAsync(() => sse.Events.Count == 1, Deadline, "job.created on the stream");
        await PoisonAsync(jobId);
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 3).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        await Eventually.GetAsync(() => ParkedCountAsync(jobId), n => n == 1, Deadline, "the job's row to be parked");

        // Later events of the job are held behind the parked row, the terminal one too.
        (await client.EmitEventAsync(jobId, new { type = "step.progress" })).EnsureStatus(201);
        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);

        await sse.WaitForEndAsync(Deadline);
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(Enumerable.Range(1, 7).Select(i => (long?)i), sse.Events.Select(e => e.Id));
        Assert.Equal(stored.Select(e => e.GetRawText()), sse.Events.Select(e => e.Data));
        Assert.Equal("job.completed", sse.Events[^1].Event);
        Assert.Equal(1, await ParkedCountAsync(jobId));
    }

    [Fact]
    public async Task Parked_rows_re_driven_after_the_key_is_fixed_reach_the_stream_in_order_and_the_relay_error_clears()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await WaitInStreamAsync(jobId, 1);
        await PoisonAsync(jobId);
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 2).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        await Eventually.GetAsync(() => ParkedCountAsync(jobId), n => n == 1, Deadline, "the job's row to be parked");
        var failing = await Eventually.GetAsync(RelayReadinessAsync, r => r.GetProperty("data").TryGetProperty("lastError", out _), Deadline, "readiness to show the error");
        Assert.Contains("WRONGTYPE", failing.GetProperty("data").GetProperty("lastError").GetString(), StringComparison.Ordinal);

        // The operator fixes the key, then re-drives.
        await tamper.DeleteAsync(ValkeyKeys.Stream(jobId));
        await fixture.ScalarAsOwnerAsync<int>(RedriveSql);

        var stream = await Eventually.GetAsync(
            () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 100), s => s.Count >= 3, Deadline, "the re-driven events in the stream");
        Assert.Equal([2L, 3L, 4L], stream.Select(e => e.Seq));
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored.Skip(1).Select(e => e.GetRawText()), stream.Select(e => e.Json));
        await Eventually.GetAsync(() => OutboxCountAsync(jobId), n => n == 0, Deadline, "the job's outbox rows to be deleted");

        // What the re-drive wrote verifies: recent events come from Valkey again.
        var recent = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?count=3")).EnsureStatus(200);
        Assert.Equal("valkey", recent.Message.Headers.GetValues("X-JobTrail-Source").Single());

        // Recovered: Healthy, nothing parked, and the error is no longer reported.
        var relay = await Eventually.GetAsync(
            RelayReadinessAsync, r => r.GetProperty("status").GetString() == "Healthy" && !r.GetProperty("data").TryGetProperty("lastError", out _),
            Deadline, "readiness to recover");
        Assert.Equal(0, relay.GetProperty("data").GetProperty("parked").GetInt64());
        Assert.Null(fixture.App.Services.GetRequiredService<RelayState>().LastError);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    /// <summary>Leaves the host as the next test expects it: each poisoned key removed and its job's rows re-driven.</summary>
    public async Task DisposeAsync()
    {
        foreach (var jobId in poisonedJobs)
        {
            await tamper.DeleteAsync(ValkeyKeys.Stream(jobId));
            await fixture.ScalarAsOwnerAsync<int>($"{RedriveSql} and job_id = '{jobId}'");
            await Eventually.GetAsync(() => OutboxCountAsync(jobId), n => n == 0, Deadline, "the job's outbox rows to drain");
        }

        valkey.Dispose();
        tamper.Dispose();
    }

    /// <summary>Makes the job's stream key a string, as <c>SET &lt;key&gt; x</c> would.</summary>
    private async Task PoisonAsync(Guid jobId)
    {
        poisonedJobs.Add(jobId);
        await tamper.SetStringAsync(ValkeyKeys.Stream(jobId), "x");
    }

    private Task WaitInStreamAsync(Guid jobId, long seq) =>
        Eventually.GetAsync(() => valkey.ReadNewestAsync(ValkeyKeys.Stream(jobId), 1), s => s.Count == 1 && s[0].Seq == seq, Deadline, $"seq {seq} in the stream");

    private Task<long> OutboxCountAsync(Guid jobId) =>
        fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.outbox where job_id = '{jobId}'");

    private Task<long> ParkedCountAsync(Guid jobId) =>
        fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.outbox where job_id = '{jobId}' and parked_at is not null");

    private async Task<JsonElement> RelayReadinessAsync()
    {
        var ready = await HttpClientJsonExtensions.ReadAsync(await fixture.AnonymousClient().GetAsync("/health/ready"));
        ready.EnsureStatus(200);
        return ready.Json.GetProperty("checks").GetProperty("relay");
    }
}
