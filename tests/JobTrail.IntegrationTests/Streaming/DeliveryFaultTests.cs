using System.Collections.Concurrent;
using System.Text.Json;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>Fails the relay's commit when armed, after the batch has reached Valkey: a crash at the worst moment.</summary>
internal sealed class FlakyCommitHook : IRelayCommitHook
{
    private int armed;

    public int Fired { get; private set; }

    public void FailNext(int times) => Interlocked.Exchange(ref armed, times);

    public Task BeforeCommitAsync(IReadOnlyList<long> outboxIds, CancellationToken cancellationToken)
    {
        if (Interlocked.Decrement(ref armed) >= 0)
        {
            Fired++;
            throw new InvalidOperationException("Relay killed between XADD and commit (test hook).");
        }

        Interlocked.Exchange(ref armed, 0);
        return Task.CompletedTask;
    }
}

/// <summary>A host on a Valkey server of its own, which the tests stop and start.</summary>
public sealed class ValkeyFaultFixture : PrivateValkeyFixture
{
    public ValkeyFaultFixture()
        : this(new ValkeyServer(), new FlakyCommitHook())
    {
    }

    private ValkeyFaultFixture(ValkeyServer server, FlakyCommitHook hook)
        : base(
            server,
            new Dictionary<string, string?>
            {
                ["JobTrail:Relay:Enabled"] = "true",
                ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
                ["JobTrail:Relay:MinBackoff"] = "00:00:00.050",
                ["JobTrail:Relay:MaxBackoff"] = "00:00:00.500",
                ["JobTrail:Events:Stream:CatchUpInterval"] = "00:00:01",
                ["JobTrail:Events:Stream:OfflinePollInterval"] = "00:00:00.200",
                // About the path through the relay, Valkey and PostgreSQL: the emitting instance's own head start (ADR 0044) would get there first.
                ["JobTrail:Events:Stream:LocalDelivery"] = "false",
            },
            services => services.AddSingleton<IRelayCommitHook>(hook))
    {
        Hook = hook;
    }

    internal FlakyCommitHook Hook { get; }
}

public sealed class DeliveryFaultTests(ValkeyFaultFixture fixture) : IClassFixture<ValkeyFaultFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Stopping_valkey_mid_run_loses_nothing_and_duplicates_nothing()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        await using var sse = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        var acknowledged = new List<long> { 1, 2 };

        async Task EmitAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                acknowledged.Add((await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201).Json.Seq());
            }
        }

        await EmitAsync(0, 30);
        await fixture.Valkey.StopAsync();
        await EmitAsync(30, 70);
        var duringOutage = acknowledged.Skip(32).ToList();

        // Valkey down: still ready (degraded), recent events come from PostgreSQL.
        var ready = await HttpClientJsonExtensions.ReadAsync(await fixture.AnonymousClient().GetAsync("/health/ready"));
        ready.EnsureStatus(200);
        Assert.Equal("Degraded", ready.Json.GetProperty("checks").GetProperty("valkey").GetProperty("status").GetString());
        var recent = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?count=5")).EnsureStatus(200);
        Assert.Equal("postgres", recent.Message.Headers.GetValues("X-JobTrail-Source").Single());
        Assert.Equal(acknowledged.TakeLast(5), recent.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq()));

        await fixture.Valkey.StartAsync();
        await EmitAsync(70, 100);
        var completed = (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        acknowledged.Add(acknowledged[^1] + 1);
        Assert.Equal("COMPLETED", completed.Json.Str("status"));

        // Every acknowledged event is in PostgreSQL.
        var stored = (await client.ListAllEventsAsync(jobId)).Select(e => e.Seq()).ToList();
        Assert.Equal(acknowledged, stored);

        // The subscriber saw each exactly once: lost = ∅, unexpected = ∅, no duplicates.
        await sse.WaitForEndAsync(Deadline);
        var seen = sse.Events.Select(e => e.Id!.Value).ToList();
        Assert.Empty(acknowledged.Except(seen));
        Assert.Empty(seen.Except(acknowledged));
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(acknowledged, seen);

        // The relay caught up: the (restarted, empty) stream got everything it had missed, once, in order.
        using var valkey = new ValkeyClient(fixture.Valkey.Configuration, NullLogger<ValkeyClient>.Instance);
        var stream = await Eventually.GetAsync(
            () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 1000),
            s => s.Count > 0 && s[^1].Seq == acknowledged[^1], Deadline, "the stream to reach the last event");
        var streamSeqs = stream.Select(e => e.Seq).ToList();
        Assert.Equal(streamSeqs.Order(), streamSeqs);
        Assert.Equal(streamSeqs.Count, streamSeqs.Distinct().Count());
        Assert.Empty(duringOutage.Except(streamSeqs));
        var state = fixture.App.Services.GetRequiredService<RelayState>();
        await Eventually.TrueAsync(() => state.Backlog == 0, Deadline, "the outbox to drain");
    }

    [Fact]
    public async Task A_relay_killed_between_xadd_and_commit_resends_without_loss_or_duplicates()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        using var valkey = new ValkeyClient(fixture.Valkey.Configuration, NullLogger<ValkeyClient>.Instance);
        await Eventually.GetAsync(() => valkey.ReadNewestAsync(ValkeyKeys.Stream(jobId), 1), s => s.Count == 1, Deadline, "job.created in the stream");
        var published = new ConcurrentQueue<long>();
        await using (await valkey.SubscribeAsync(ValkeyKeys.Channel(jobId), json => published.Enqueue(JsonDocument.Parse(json).RootElement.GetProperty("seq").GetInt64())))
        {
            fixture.Hook.FailNext(2);
            (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 10).Select(_ => (object)new { type = "step.output" }))).EnsureStatus(201);
            await Eventually.TrueAsync(() => fixture.Hook.Fired == 2, Deadline, "the relay to be killed twice");
            (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 5).Select(_ => (object)new { type = "step.progress" }))).EnsureStatus(201);

            var stream = await Eventually.GetAsync(
                () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 100), s => s.Count >= 16, Deadline, "16 events in the stream");
            Assert.Equal(Enumerable.Range(1, 16).Select(i => (long)i), stream.Select(e => e.Seq));
            await Eventually.TrueAsync(() => published.Count >= 15, Deadline, "15 events published");
            Assert.Equal(Enumerable.Range(2, 15).Select(i => (long)i), published);
        }

        await Eventually.GetAsync(
            () => fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.outbox where job_id = '{jobId}'"),
            n => n == 0, Deadline, "the outbox rows of the job to be deleted");
    }

    [Fact]
    public async Task Once_valkey_is_back_and_the_outbox_has_drained_the_relay_reports_no_error()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await fixture.Valkey.StopAsync();
        try
        {
            (await client.EmitEventAsync(jobId, new { type = "step.output" })).EnsureStatus(201);
            await Eventually.GetAsync(RelayReadinessAsync, r => r.GetProperty("data").TryGetProperty("lastError", out _), Deadline, "the relay to report the outage");
        }
        finally
        {
            await fixture.Valkey.StartAsync();
        }

        var relay = await Eventually.GetAsync(
            RelayReadinessAsync,
            r => r.GetProperty("data").GetProperty("backlog").GetInt64() == 0 && !r.GetProperty("data").TryGetProperty("lastError", out _),
            Deadline, "the relay to drain the outbox and drop the error");
        Assert.Equal("Healthy", relay.GetProperty("status").GetString());
    }

    private async Task<JsonElement> RelayReadinessAsync()
    {
        var ready = await HttpClientJsonExtensions.ReadAsync(await fixture.AnonymousClient().GetAsync("/health/ready"));
        ready.EnsureStatus(200);
        return ready.Json.GetProperty("checks").GetProperty("relay");
    }
}
