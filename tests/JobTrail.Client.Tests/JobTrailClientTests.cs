using System.Net;
using System.Text.Json;
using JobTrail.Client.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Client.Tests;

public sealed class JobTrailClientTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Jobs_and_steps_round_trip_through_the_typed_client_with_the_apis_enum_spellings()
    {
        var (client, workspaceId) = await fixture.TenantAsync();
        using var _ = client;
        var created = await client.CreateJobAsync("build", "nightly", new { branch = "main" });
        Assert.Equal(workspaceId, created.WorkspaceId);
        Assert.Equal(JobStatus.Pending, created.Status);
        Assert.Equal("main", created.Metadata!.Value.GetProperty("branch").GetString());

        var running = await client.ChangeJobStatusAsync(created.Id, JobStatus.Running);
        Assert.Equal(JobStatus.Running, running.Status);
        Assert.Equal(JobStatus.Running, (await client.GetJobAsync(created.Id)).Status);
        var listed = await client.ListJobsAsync(JobStatus.Running, "build", limit: 10);
        Assert.Equal(created.Id, Assert.Single(listed.Items).Id);

        var step = await client.CreateStepAsync(created.Id, "review", StepPhase.Validation, StepType.AiAction);
        Assert.Equal((StepPhase.Validation, StepType.AiAction, StepStatus.Pending), (step.Phase, step.Type, step.Status));
        await client.ChangeStepStatusAsync(created.Id, step.Id, StepStatus.Running);
        var tokens = await client.RecordTokensAsync(created.Id, step.Id, 120, 30);
        Assert.Equal((120, 30), (tokens.TokensInput, tokens.TokensOutput));
        var done = await client.ChangeStepStatusAsync(created.Id, step.Id, StepStatus.Completed);
        Assert.Equal(StepStatus.Completed, done.Status);
        Assert.NotNull(done.DurationMs);
        Assert.Equal(step.Id, Assert.Single((await client.ListStepsAsync(created.Id)).Items).Id);
        Assert.Equal(StepStatus.Completed, (await client.GetStepAsync(created.Id, step.Id)).Status);

        var completed = await client.ChangeJobStatusAsync(created.Id, JobStatus.Completed);
        Assert.Equal(JobStatus.Completed, completed.Status);
    }

    [Fact]
    public async Task Events_emit_single_and_batch_then_list_recent_get_and_verify()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var job = await client.CreateJobAsync("build");
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Running);

        var first = await client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepProgress, new { percent = 10 }));
        var batch = await client.EmitEventsAsync(job.Id, [
            NewJobEvent.Create(JobEventType.StepOutput, new { line = "a" }),
            NewJobEvent.Create(JobEventType.StepOutput, new { line = "b" }),
        ]);
        Assert.Equal([first.Seq + 1, first.Seq + 2], batch.Select(e => e.Seq));

        var outputs = await client.ListEventsAsync(job.Id, new EventQuery(Types: [JobEventType.StepOutput]));
        Assert.Equal(["a", "b"], outputs.Items.Select(e => e.Payload!.Value.GetProperty("line").GetString()));
        var after = await client.ListEventsAsync(job.Id, new EventQuery(AfterSeq: first.Seq, Limit: 1));
        Assert.Equal(batch[0].Id, Assert.Single(after.Items).Id);
        Assert.NotNull(after.NextCursor);

        var recent = await Eventually.GetAsync(() => client.GetRecentEventsAsync(job.Id, 2), p => p.Items.Count == 2, Deadline, "recent events");
        Assert.Equal(batch.Select(e => e.Id), recent.Items.Select(e => e.Id));
        Assert.Equal(10, (await client.GetEventAsync(job.Id, first.Id)).Payload!.Value.GetProperty("percent").GetInt32());

        var verification = await client.VerifyEventsAsync(job.Id);
        Assert.True(verification.Valid, verification.Detail);
        Assert.Equal(batch[1].Seq, verification.LastSeq);
    }

    [Fact]
    public async Task A_repeated_idempotency_key_returns_the_first_event_and_writes_nothing_more()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var job = await client.CreateJobAsync("build");
        var key = Guid.NewGuid().ToString("N");
        var once = await client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { line = "x" }), key);
        var again = await client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { line = "x" }), key);
        Assert.Equal(once.Id, again.Id);
        Assert.Single((await client.ListEventsAsync(job.Id, new EventQuery(Types: [JobEventType.StepOutput]))).Items);
    }

    [Fact]
    public async Task Activity_is_listed_fetched_trailed_recorded_and_verified()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var job = await client.CreateJobAsync("build");
        var recorded = await client.RecordActivityAsync("auth.login", "user", "alice", new { method = "sso", password = "hunter2" });
        Assert.Equal(ActivityOutcome.Succeeded, recorded.Outcome);
        Assert.Equal("[REDACTED]", recorded.Metadata!.Value.GetProperty("password").GetString());

        var fetched = await client.GetActivityAsync(recorded.Id);
        Assert.Equal("auth.login", fetched.Action);
        var logins = await client.ListActivityAsync(new ActivityQuery(Action: "auth.login", Outcome: ActivityOutcome.Succeeded));
        Assert.Equal(recorded.Id, Assert.Single(logins.Items).Id);
        var trail = await client.GetAuditTrailAsync("runner_job", job.Id.ToString());
        Assert.Equal("runner_job.created", trail.Items[0].Action);

        var verification = await Eventually.GetAsync(() => client.VerifyActivityAsync(), v => v.Valid && v.Checked > 0, Deadline, "a sealed, valid activity chain");
        Assert.Null(verification.FirstBadSeq);
    }

    [Fact]
    public async Task Workspaces_and_keys_are_created_listed_and_a_revoked_key_is_refused()
    {
        using var system = fixture.Client();
        var slug = "ws-" + Guid.NewGuid().ToString("N")[..12];
        var workspace = await system.CreateWorkspaceAsync(slug, "Team");
        Assert.Equal(slug, workspace.Slug);
        var key = await system.CreateApiKeyAsync(workspace.Id, "ci", "runner:ci", ["jobs:read"]);
        Assert.StartsWith("jt_", key.Key, StringComparison.Ordinal);
        var keys = await system.ListApiKeysAsync(workspace.Id);
        Assert.Contains(keys.Items, k => k.Id == key.Id && k.Scopes.SequenceEqual(["jobs:read"]));

        using var runner = fixture.Client(key.Key);
        Assert.Empty((await runner.ListJobsAsync()).Items);
        await system.RevokeApiKeyAsync(workspace.Id, key.Id);
        var refused = await Assert.ThrowsAsync<JobTrailApiException>(() => runner.ListJobsAsync());
        Assert.True(refused.IsUnauthorized);
        Assert.NotNull((await system.ListApiKeysAsync(workspace.Id)).Items.Single(k => k.Id == key.Id).RevokedAt);
    }

    [Fact]
    public async Task Problems_surface_as_one_exception_telling_404_409_422_and_400_apart()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var missing = await Assert.ThrowsAsync<JobTrailApiException>(() => client.GetJobAsync(Guid.NewGuid()));
        Assert.True(missing.IsNotFound);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.NotNull(missing.Code);
        Assert.NotNull(missing.TraceId);
        Assert.NotNull(missing.CorrelationId);

        var job = await client.CreateJobAsync("build");
        var conflict = await Assert.ThrowsAsync<JobTrailApiException>(() => client.ChangeJobStatusAsync(job.Id, JobStatus.Completed));
        Assert.True(conflict.IsConflict);
        Assert.False(conflict.IsNotFound);

        var systemOnly = await Assert.ThrowsAsync<JobTrailApiException>(() => client.EmitEventAsync(job.Id, new NewJobEvent("job.completed")));
        Assert.True(systemOnly.IsUnprocessable);

        var invalid = await Assert.ThrowsAsync<JobTrailApiException>(() => client.CreateJobAsync(""));
        Assert.True(invalid.IsBadRequest);
        Assert.NotEmpty(invalid.Errors);
        Assert.Contains(invalid.Detail ?? invalid.Errors.First().Value[0], invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddJobTrailClient_registers_a_working_client_on_the_http_client_factory()
    {
        var services = new ServiceCollection();
        services.AddJobTrailClient(o =>
        {
            o.BaseAddress = fixture.BaseAddress;
            o.ApiKey = fixture.BootstrapKey;
        });
        await using var provider = services.BuildServiceProvider();
        var client = provider.GetRequiredService<JobTrailClient>();
        var job = await client.CreateJobAsync("di");
        Assert.Equal(job.Id, (await client.GetJobAsync(job.Id)).Id);
    }

    [Fact]
    public async Task A_job_scope_completes_its_steps_and_the_job_on_dispose()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        Guid jobId, stepId;
        await using (var job = await client.StartJobAsync("build", "scoped"))
        {
            jobId = job.Id;
            Assert.Equal(JobStatus.Running, job.Job.Status);
            await using var step = await job.StepAsync("compile");
            stepId = step.Id;
            await step.EmitAsync(JobEventType.StepOutput, new { line = "ok" });
        }

        Assert.Equal(JobStatus.Completed, (await client.GetJobAsync(jobId)).Status);
        Assert.Equal(StepStatus.Completed, (await client.GetStepAsync(jobId, stepId)).Status);
    }

    [Fact]
    public async Task A_step_that_throws_fails_itself_and_its_job_with_the_exception_message()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        Guid jobId = default;
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await using var job = await client.StartJobAsync("build");
            jobId = job.Id;
            await job.RunStepAsync("test", _ => throw new InvalidOperationException("3 tests failed"));
        });

        Assert.Equal("3 tests failed", thrown.Message);
        var failed = await client.GetJobAsync(jobId);
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Contains("3 tests failed", failed.Error, StringComparison.Ordinal);
        var step = Assert.Single((await client.ListStepsAsync(jobId)).Items);
        Assert.Equal((StepStatus.Failed, "3 tests failed"), (step.Status, step.Error));
    }

    [Fact]
    public async Task The_buffer_keeps_each_jobs_order_across_many_small_batches_and_sends_all_on_dispose()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var a = await client.CreateJobAsync("build");
        var b = await client.CreateJobAsync("build");
        await using (var buffer = client.CreateEventBuffer(new JobEventBufferOptions { MaxBatchSize = 37, Capacity = 50 }))
        {
            for (var i = 0; i < 600; i++)
            {
                await buffer.EnqueueAsync(i % 3 == 0 ? b.Id : a.Id, NewJobEvent.Create(JobEventType.StepOutput, new { i }));
            }
        }

        Assert.Equal(Enumerable.Range(0, 600).Where(i => i % 3 != 0), await OutputIndexesAsync(client, a.Id));
        Assert.Equal(Enumerable.Range(0, 600).Where(i => i % 3 == 0), await OutputIndexesAsync(client, b.Id));
    }

    [Fact]
    public async Task The_stream_yields_every_event_then_completes_after_the_terminal_event()
    {
        var (client, _) = await fixture.TenantAsync();
        using var _ = client;
        var job = await client.CreateJobAsync("build");
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Running);
        await client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { line = "before" }));
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

        await Eventually.TrueAsync(() => { lock (seen) { return seen.Count == 3; } }, Deadline, "the backfilled events");
        await client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { line = "live" }));
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Completed);
        await reading;

        Assert.Equal(["job.created", "job.started", "step.output", "step.output", "job.completed"], seen.Select(e => e.Type));
        Assert.Equal([1L, 2, 3, 4, 5], seen.Select(e => e.Seq));
        Assert.Empty(await client.StreamEventsAsync(job.Id, afterSeq: 5, timeout.Token).ToListAsync(timeout.Token));
    }

    internal static async Task<List<int>> OutputIndexesAsync(JobTrailClient client, Guid jobId)
    {
        var indexes = new List<int>();
        string? cursor = null;
        do
        {
            var page = await client.ListEventsAsync(jobId, new EventQuery(Types: [JobEventType.StepOutput], Limit: 1000, Cursor: cursor));
            indexes.AddRange(page.Items.Select(e => e.Payload!.Value.GetProperty("i").GetInt32()));
            cursor = page.NextCursor;
        }
        while (cursor is not null);
        return indexes;
    }
}
