using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Behaviors;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>
/// Holds the group writer after its next commit until released (so that what is sent meanwhile is
/// queued and written as one group), or throws after its next commit (a crash before the answers).
/// </summary>
internal sealed class GroupGate : IGroupCommitHook
{
    private readonly ManualResetEventSlim release = new(false);
    private int holdArmed;
    private int throwArmed;

    public volatile bool Holding;

    public void HoldAfterNextCommit()
    {
        release.Reset();
        Interlocked.Exchange(ref holdArmed, 1);
    }

    public void ThrowAfterNextCommit() => Interlocked.Exchange(ref throwArmed, 1);

    public void Release() => release.Set();

    public void AfterCommit(IReadOnlyList<PendingAppend> group)
    {
        if (Interlocked.Exchange(ref throwArmed, 0) == 1)
        {
            throw new InvalidOperationException("Killed between the group's commit and its answers (test hook).");
        }

        if (Interlocked.Exchange(ref holdArmed, 0) == 1)
        {
            Holding = true;
            // Bounded: a broken test must not hang the writer for ever.
            release.Wait(TimeSpan.FromSeconds(60));
            Holding = false;
        }
    }
}

/// <summary>
/// One writer and no helper, so that holding it after a commit queues every request behind it and the next group
/// takes them all, whatever their jobs (with several writers, only the held writer's jobs would wait; with a helper,
/// a backlog behind the held writer would be the helper's).
/// </summary>
public class GroupCommitFixture : JobTrailFixture
{
    public GroupCommitFixture()
        : this(writers: 1, helperFromEvents: 0)
    {
    }

    protected GroupCommitFixture(int writers, int helperFromEvents)
        : this(new GroupGate(), writers, helperFromEvents)
    {
    }

    private GroupCommitFixture(GroupGate gate, int writers, int helperFromEvents)
        : base(
            new Dictionary<string, string?>
            {
                ["JobTrail:Events:GroupCommit:Writers"] = writers.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["JobTrail:Events:GroupCommit:HelperFromEvents"] = helperFromEvents.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            services => services.AddSingleton<IGroupCommitHook>(gate))
    {
        Gate = gate;
    }

    internal GroupGate Gate { get; }

    internal GroupCommitWriter Writer => App.Services.GetRequiredService<GroupCommitWriter>();
}

/// <summary>Four writers side by side, the gate holding whichever commits next.</summary>
public sealed class FourWritersFixture() : GroupCommitFixture(writers: 4, helperFromEvents: 0);

/// <summary>One writer whose helper takes whatever queues behind it while it is busy (a threshold of one event).</summary>
public sealed class HelperFixture() : GroupCommitFixture(writers: 1, helperFromEvents: 1);

/// <summary>The sizes of committed groups, as the writer's histogram records them.</summary>
internal sealed class GroupSizes : IDisposable
{
    private readonly MeterListener listener = new();

    public GroupSizes()
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PipelineMetrics.MeterName && instrument.Name == "jobtrail.group_commit.size")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<int>((_, value, _, _) => Values.Enqueue(value));
        listener.Start();
    }

    public ConcurrentQueue<int> Values { get; } = new();

    public void Dispose() => listener.Dispose();
}

public sealed class GroupCommitTests(GroupCommitFixture fixture) : IClassFixture<GroupCommitFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>Sends <paramref name="requests"/> while the writer is held, so that they are committed as one group.</summary>
    private async Task<ApiResponse[]> InOneGroupAsync(int count, Func<int, Task<ApiResponse>> request)
    {
        var client = fixture.Client();
        var opener = (await client.CreateJobAsync()).Id();
        fixture.Gate.HoldAfterNextCommit();
        var first = client.EmitEventAsync(opener, new { type = "step.output" });
        await Eventually.TrueAsync(() => fixture.Gate.Holding, Deadline, "the writer to hold after the opening commit");
        var sent = Enumerable.Range(0, count).Select(request).ToArray();
        await Eventually.TrueAsync(() => fixture.Writer.Queued >= count, Deadline, $"{count} appends to be queued");
        fixture.Gate.Release();
        (await first).EnsureStatus(201);
        return await Task.WhenAll(sent);
    }

    /// <summary>A job run to COMPLETED (its stream sealed), and how many events it holds.</summary>
    private async Task<(Guid Job, long Events)> CompletedJobAsync(HttpClient client)
    {
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);
        return (job, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task Concurrent_emits_and_batches_to_one_job_get_gapless_seqs_in_arrival_order_matching_their_rows()
    {
        using var sizes = new GroupSizes();
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var responses = await InOneGroupAsync(30, i => i % 5 == 0
            ? client.EmitBatchAsync(job, [new { type = "step.output", payload = new { i, n = 0 } }, new { type = "step.output", payload = new { i, n = 1 } }])
            : client.EmitEventAsync(job, new { type = "step.output", payload = new { i } }));

        Assert.Contains(sizes.Values, size => size >= 30);
        var stored = await client.ListAllEventsAsync(job);
        EventsApi.AssertGapless(stored);
        Assert.Equal(1 + 24 + (6 * 2), stored.Count);
        var bySeq = stored.ToDictionary(e => e.Seq(), e => e.GetRawText());
        foreach (var response in responses)
        {
            response.EnsureStatus(201);
            var events = response.Json.TryGetProperty("items", out var items) ? items.EnumerateArray().ToList() : [response.Json];
            Assert.Equal(events.Select(e => e.Seq()), Enumerable.Range((int)events[0].Seq(), events.Count).Select(s => (long)s));
            Assert.All(events, e => Assert.Equal(bySeq[e.Seq()], e.GetRawText()));
        }
    }

    [Fact]
    public async Task A_sealed_or_unknown_job_in_a_group_fails_only_its_own_request()
    {
        var client = fixture.Client();
        var open = (await client.CreateJobAsync()).Id();
        var (ended, endedEvents) = await CompletedJobAsync(client);
        var unknown = Guid.NewGuid();

        // With and without an Idempotency-Key: the two take different statements.
        var responses = await InOneGroupAsync(10, i => (i % 5) switch
        {
            0 => client.EmitEventAsync(open, new { type = "step.output", payload = new { i } }),
            1 => client.EmitEventAsync(ended, new { type = "step.output" }, idempotencyKey: $"sealed-{i}-{Guid.NewGuid():N}"),
            2 => client.EmitBatchAsync(unknown, [new { type = "step.output" }]),
            3 => client.EmitEventAsync(ended, new { type = "step.output", payload = new { i } }),
            _ => client.EmitEventAsync(unknown, new { type = "step.output" }, idempotencyKey: $"unknown-{i}-{Guid.NewGuid():N}"),
        });

        foreach (var i in new[] { 0, 5 })
        {
            responses[i].EnsureStatus(201);
        }

        foreach (var i in new[] { 1, 3, 6, 8 })
        {
            responses[i].EnsureProblem(409, "job_terminal");
        }

        foreach (var i in new[] { 2, 4, 7, 9 })
        {
            responses[i].EnsureProblem(404, "job_not_found");
        }

        EventsApi.AssertGapless(await client.ListAllEventsAsync(open));
        Assert.Equal(3, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, open));
        Assert.Equal(endedEvents, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, ended));
        // The refused keyed requests left no key behind: the key stays free for a later request.
        Assert.Equal(0, await fixture.CountAsOwnerAsync("idempotency_keys", fixture.DefaultWorkspaceId, ended));
    }

    [Fact]
    public async Task A_group_without_keys_to_open_sealed_and_unknown_jobs_writes_the_open_jobs_events_in_arrival_order()
    {
        // No request carries a key, so the group is written by one statement; queued straight to the writer so
        // that the arrival order is known. Its refusals must still be each request's own.
        var client = fixture.Client();
        var open = (await client.CreateJobAsync()).Id();
        var other = (await client.CreateJobAsync()).Id();
        var (ended, endedEvents) = await CompletedJobAsync(client);
        var unknown = Guid.NewGuid();
        AppendRequest Append(Guid job, int i, int count) => new(
            job, [.. Enumerable.Range(0, count).Select(n => new NewEvent(Guid.CreateVersion7(), "step.output", null, $$"""{"i":{{i}},"n":{{n}}}""", null))],
            CreateStream: false, Seal: false, null, null, "runner:test", "c", DateTime.UtcNow);
        var targets = new[] { open, ended, unknown, open, other, ended, open, other, open, unknown, other, open };
        var counts = new[] { 1, 1, 1, 2, 1, 1, 3, 2, 1, 1, 1, 1 };

        var opener = (await client.CreateJobAsync()).Id();
        fixture.Gate.HoldAfterNextCommit();
        var first = client.EmitEventAsync(opener, new { type = "step.output" });
        await Eventually.TrueAsync(() => fixture.Gate.Holding, Deadline, "the writer to hold after the opening commit");
        var appends = targets.Select((job, i) => fixture.Writer.AppendAsync(fixture.DefaultWorkspaceId, Append(job, i, counts[i]), CancellationToken.None)).ToList();
        await Eventually.TrueAsync(() => fixture.Writer.Queued >= targets.Length, Deadline, "the appends to be queued");
        fixture.Gate.Release();
        (await first).EnsureStatus(201);
        var results = await Task.WhenAll(appends);

        for (var i = 0; i < targets.Length; i++)
        {
            // Refused appends (sealed, unknown) write nothing and come back empty; the HTTP layer explains them.
            Assert.Equal(targets[i] == open || targets[i] == other ? counts[i] : 0, results[i].Count);
            Assert.Equal(Enumerable.Range((int)(results[i].FirstOrDefault()?.Seq ?? 0), results[i].Count).Select(x => (long)x), results[i].Select(e => e.Seq));
        }

        foreach (var job in new[] { open, other })
        {
            var stored = await client.ListAllEventsAsync(job);
            EventsApi.AssertGapless(stored);
            // After job.created, each request's events in the order the requests were queued.
            var expected = targets.Select((t, i) => (t, i)).Where(x => x.t == job).SelectMany(x => Enumerable.Range(0, counts[x.i]).Select(n => (x.i, n)));
            Assert.Equal(expected, stored.Skip(1).Select(e => (e.GetProperty("payload").GetProperty("i").GetInt32(), e.GetProperty("payload").GetProperty("n").GetInt32())));
            Assert.Equal(
                targets.Select((t, i) => (t, i)).Where(x => x.t == job).SelectMany(x => results[x.i]).Select(e => e.Seq),
                stored.Skip(1).Select(e => e.Seq()));
        }

        Assert.Equal(endedEvents, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, ended));
    }

    [Fact]
    public async Task Emits_without_a_key_racing_the_jobs_completion_land_before_its_terminal_event_or_are_refused()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);

        var emits = Enumerable.Range(0, 60).Select(i => client.EmitEventAsync(job, new { type = "step.output", payload = new { i } })).ToList();
        var completed = client.SetJobStatusAsync(job, "COMPLETED");
        var responses = await Task.WhenAll(emits);
        (await completed).EnsureStatus(200);

        var stored = await client.ListAllEventsAsync(job);
        EventsApi.AssertGapless(stored);
        var terminal = Assert.Single(stored, e => e.GetProperty("type").GetString() == "job.completed");
        Assert.Equal(stored[^1].Seq(), terminal.Seq());
        var written = responses.Where(r => r.Status == 201).ToList();
        Assert.All(responses.Where(r => r.Status != 201), r => r.EnsureProblem(409, "job_terminal"));
        Assert.All(written, r => Assert.True(r.Json.Seq() < terminal.Seq(), $"seq {r.Json.Seq()} was written after the terminal event"));
        Assert.Equal(written.Count, stored.Count(e => e.GetProperty("type").GetString() == "step.output"));
    }

    [Fact]
    public async Task The_same_key_twice_in_one_group_writes_once_and_both_answers_are_the_same_event()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var key = "dup-" + Guid.NewGuid().ToString("N");

        var responses = await InOneGroupAsync(2, _ => client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "once" } }, key));

        Assert.All(responses, r => r.EnsureStatus(201));
        Assert.Equal(responses[0].Body, responses[1].Body);
        Assert.Single(responses, r => r.Message.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(2, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
        Assert.Equal(1, await fixture.CountAsOwnerAsync("idempotency_keys", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task Concurrent_emits_from_two_workspaces_are_each_written_under_the_workspace_they_authenticated_as()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobA = (await a.Client.CreateJobAsync()).Id();
        var jobB = (await b.Client.CreateJobAsync()).Id();

        var responses = await InOneGroupAsync(20, i => i % 2 == 0
            ? a.Client.EmitEventAsync(jobA, new { type = "step.output", payload = new { i } })
            : b.Client.EmitEventAsync(jobB, new { type = "step.output", payload = new { i } }));

        Assert.All(responses, r => r.EnsureStatus(201));
        var rows = await fixture.QueryAsServiceAsync(
            $"select workspace_id, job_id from job_events.events where job_id in ('{jobA}', '{jobB}')", a.WorkspaceId.ToString(), r => (r.GetGuid(0), r.GetGuid(1)));
        Assert.Equal(11, rows.Count);
        Assert.All(rows, r => Assert.Equal((a.WorkspaceId, jobA), r));
        Assert.Equal(11, await fixture.CountAsOwnerAsync("events", b.WorkspaceId, jobB));
        Assert.Equal(11, await fixture.CountAsOwnerAsync("event_links", b.WorkspaceId, jobB));
        Assert.Equal(0, await fixture.CountAsOwnerAsync("events", b.WorkspaceId, jobA));
    }

    [Fact]
    public async Task The_writer_cannot_append_to_a_job_of_another_workspace()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobA = (await a.Client.CreateJobAsync()).Id();
        var request = new AppendRequest(
            jobA, [new NewEvent(Guid.CreateVersion7(), "step.output", null, null, null)], CreateStream: false, Seal: false, null, null,
            "runner:evil", "c", DateTime.UtcNow);

        var stored = await fixture.Writer.AppendAsync(b.WorkspaceId, request, CancellationToken.None);

        Assert.Empty(stored);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", a.WorkspaceId, jobA));
        Assert.Equal(0, await fixture.CountAsOwnerAsync("events", b.WorkspaceId, jobA));
    }

    [Fact]
    public async Task A_group_postgresql_refuses_is_rolled_back_and_its_good_requests_are_written_alone()
    {
        var tenant = await fixture.CreateTenantAsync();
        var job = (await tenant.Client.CreateJobAsync()).Id();
        AppendRequest Append(string payload) => new(
            job, [new NewEvent(Guid.CreateVersion7(), "step.output", null, payload, null)], CreateStream: false, Seal: false, null, null,
            "runner:test", "c", DateTime.UtcNow);

        // Held after an opening commit, so the three are queued and taken as one group; the middle one's
        // payload is not JSON (the HTTP path never sends that), so PostgreSQL refuses the whole group.
        var opener = (await fixture.Client().CreateJobAsync()).Id();
        fixture.Gate.HoldAfterNextCommit();
        var first = fixture.Client().EmitEventAsync(opener, new { type = "step.output" });
        await Eventually.TrueAsync(() => fixture.Gate.Holding, Deadline, "the writer to hold after the opening commit");
        var good1 = fixture.Writer.AppendAsync(tenant.WorkspaceId, Append("""{"n":1}"""), CancellationToken.None);
        var bad = fixture.Writer.AppendAsync(tenant.WorkspaceId, Append("not json"), CancellationToken.None);
        var good2 = fixture.Writer.AppendAsync(tenant.WorkspaceId, Append("""{"n":2}"""), CancellationToken.None);
        await Eventually.TrueAsync(() => fixture.Writer.Queued >= 3, Deadline, "3 appends to be queued");
        fixture.Gate.Release();
        (await first).EnsureStatus(201);

        Assert.Single(await good1);
        Assert.Single(await good2);
        await Assert.ThrowsAsync<PostgresException>(() => bad);
        // The writer's connection is usable again: the refused group's transaction was rolled back.
        var after = await fixture.Writer.AppendAsync(tenant.WorkspaceId, Append("""{"n":3}"""), CancellationToken.None);
        Assert.Equal(4, Assert.Single(after).Seq); // after job.created, the two good ones and nothing of the bad one
        Assert.Equal(4, await fixture.CountAsOwnerAsync("events", tenant.WorkspaceId, job));
    }

    [Fact]
    public async Task A_crash_between_commit_and_answer_is_answered_by_the_retry_with_the_stored_event()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var key = "crash-" + Guid.NewGuid().ToString("N");

        fixture.Gate.ThrowAfterNextCommit();
        var lost = await client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "x" } }, key);
        Assert.Equal(500, lost.Status);
        var retry = await client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "x" } }, key);

        retry.EnsureStatus(201);
        Assert.Equal("true", retry.Message.Headers.GetValues("Idempotent-Replayed").Single());
        var stored = await client.ListAllEventsAsync(job);
        Assert.Equal(2, stored.Count);
        Assert.Equal(stored[1].GetRawText(), retry.Json.GetRawText());
    }

    [Fact]
    public async Task Under_concurrent_load_groups_of_more_than_one_request_form_by_themselves()
    {
        using var sizes = new GroupSizes();
        var client = fixture.Client();
        var jobs = new List<Guid>();
        for (var i = 0; i < 8; i++)
        {
            jobs.Add((await client.CreateJobAsync()).Id());
        }

        var responses = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => client.EmitEventAsync(jobs[i % jobs.Count], new { type = "step.progress", payload = new { i } })));

        Assert.All(responses, r => r.EnsureStatus(201));
        Assert.Contains(sizes.Values, size => size > 1);
        foreach (var job in jobs)
        {
            EventsApi.AssertGapless(await client.ListAllEventsAsync(job));
        }
    }
}
