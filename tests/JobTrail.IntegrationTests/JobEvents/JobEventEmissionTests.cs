using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;
using Npgsql;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>Every job and step change appends its event in the same transaction.</summary>
public sealed class JobEventEmissionTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task A_full_job_run_produces_exactly_the_expected_events_with_seq_1_to_n()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync("ci", "build #7")).Id();
        (await client.SetJobStatusAsync(job, "QUEUED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        var compile = (await client.CreateStepAsync(job, "compile")).Id();
        var review = (await client.CreateStepAsync(job, "review diff", "VALIDATION", "AI_ACTION")).Id();
        var gate = (await client.CreateStepAsync(job, "tests pass", "VALIDATION", "GATE")).Id();

        (await client.SetStepStatusAsync(job, compile, "RUNNING")).EnsureStatus(200);
        (await client.EmitEventAsync(job, new { type = "step.progress", stepId = compile, payload = new { percent = 50 } })).EnsureStatus(201);
        (await client.EmitEventAsync(job, new { type = "step.output", stepId = compile, payload = new { line = "0 warnings" } })).EnsureStatus(201);
        (await client.SetStepStatusAsync(job, compile, "COMPLETED")).EnsureStatus(200);

        (await client.SetStepStatusAsync(job, review, "RUNNING")).EnsureStatus(200);
        (await client.EmitEventAsync(job, new { type = "ai.tool_called", stepId = review, payload = new { tool = "grep" } })).EnsureStatus(201);
        (await client.PostJsonAsync($"/api/runner-jobs/{job}/steps/{review}/tokens", new { input = 1200, output = 350 })).EnsureStatus(200);
        (await client.PostJsonAsync($"/api/runner-jobs/{job}/steps/{review}/tokens", new { input = 100, output = 50 })).EnsureStatus(200);
        (await client.EmitEventAsync(job, new { type = "ai.artifact_created", stepId = review, payload = new { path = "review.md" } })).EnsureStatus(201);
        (await client.SetStepStatusAsync(job, review, "COMPLETED")).EnsureStatus(200);

        (await client.SetStepStatusAsync(job, gate, "RUNNING")).EnsureStatus(200);
        (await client.EmitEventAsync(job, new { type = "gate.started", stepId = gate })).EnsureStatus(201);
        (await client.EmitEventAsync(job, new { type = "gate.passed", stepId = gate, payload = new { passed = 412 } })).EnsureStatus(201);
        (await client.SetStepStatusAsync(job, gate, "COMPLETED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);

        var events = await client.ListAllEventsAsync(job);

        Assert.Equal(
            [
                "job.created", "job.queued", "job.started",
                "step.started", "step.progress", "step.output", "step.completed",
                "step.started", "ai.tool_called", "ai.tokens_used", "ai.tokens_used", "ai.artifact_created", "step.completed",
                "step.started", "gate.started", "gate.passed", "step.completed",
                "job.completed",
            ],
            events.Select(e => e.Type()));
        EventsApi.AssertGapless(events);
        Assert.Equal(events.Count, events.Select(e => e.GetProperty("id").GetGuid()).Distinct().Count());
        Assert.All(events.Take(3).Append(events[^1]), e => Assert.Null(e.StepId()));
        Assert.All(events.Skip(3).Take(4), e => Assert.Equal(compile, e.StepId()));
        Assert.All(events.Skip(7).Take(6), e => Assert.Equal(review, e.StepId()));
        Assert.All(events.Skip(13).Take(4), e => Assert.Equal(gate, e.StepId()));
        Assert.All(events, e =>
        {
            Assert.Equal(job, e.GetProperty("jobId").GetGuid());
            Assert.Equal(fixture.DefaultWorkspaceId, e.GetProperty("workspaceId").GetGuid());
            Assert.Equal("system:bootstrap", e.Str("actorId"));
        });

        var created = events[0].GetProperty("payload");
        Assert.Equal("ci", created.GetProperty("type").GetString());
        Assert.Equal("build #7", created.GetProperty("name").GetString());
        Assert.Equal("PENDING", events[1].GetProperty("payload").GetProperty("from").GetString());
        Assert.Equal("QUEUED", events[1].GetProperty("payload").GetProperty("to").GetString());
        var secondTokens = events[10].GetProperty("payload");
        Assert.Equal(100, secondTokens.GetProperty("input").GetInt64());
        Assert.Equal(1300, secondTokens.GetProperty("totalInput").GetInt64());
        Assert.Equal(400, secondTokens.GetProperty("totalOutput").GetInt64());
        var compiled = events[6].GetProperty("payload");
        Assert.Equal("compile", compiled.GetProperty("name").GetString());
        Assert.Equal(1, compiled.GetProperty("ordinal").GetInt32());
        Assert.True(compiled.GetProperty("durationMs").GetInt64() >= 0);
        var completed = events[^1].GetProperty("payload");
        Assert.Equal("COMPLETED", completed.GetProperty("to").GetString());
        Assert.Equal(JsonValueKind.Number, completed.GetProperty("durationMs").ValueKind);
    }

    [Fact]
    public async Task A_failed_job_and_a_failed_step_record_their_errors()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        var step = (await client.CreateStepAsync(job, "deploy")).Id();
        (await client.SetStepStatusAsync(job, step, "RUNNING")).EnsureStatus(200);
        (await client.SetStepStatusAsync(job, step, "FAILED", "timeout")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, "FAILED", "exit code 2")).EnsureStatus(200);

        var events = await client.ListAllEventsAsync(job);

        Assert.Equal(["job.created", "job.started", "step.started", "step.failed", "job.failed"], events.Select(e => e.Type()));
        Assert.Equal("timeout", events[3].GetProperty("payload").GetProperty("error").GetString());
        Assert.Equal("exit code 2", events[4].GetProperty("payload").GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_cancelled_job_ends_its_log_with_job_cancelled()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "QUEUED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, "CANCELLED", "superseded")).EnsureStatus(200);

        var events = await client.ListAllEventsAsync(job);

        Assert.Equal(["job.created", "job.queued", "job.cancelled"], events.Select(e => e.Type()));
    }

    [Fact]
    public async Task Events_carry_the_actor_and_correlation_id_of_the_request_that_caused_them()
    {
        var tenant = await fixture.CreateTenantAsync();
        var job = (await tenant.Client.CreateJobAsync()).Id();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/runner-jobs/{job}/status")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { status = "RUNNING" }),
        };
        request.Headers.Add("X-Correlation-Id", "deploy-42.attempt-1");
        (await Infrastructure.HttpClientJsonExtensions.ReadAsync(await tenant.Client.SendAsync(request))).EnsureStatus(200);

        var started = (await tenant.Client.ListAllEventsAsync(job)).Single(e => e.Type() == "job.started");

        Assert.Equal("deploy-42.attempt-1", started.Str("correlationId"));
        Assert.StartsWith("runner:ws-", started.Str("actorId"), StringComparison.Ordinal);
        Assert.Equal(tenant.WorkspaceId, started.GetProperty("workspaceId").GetGuid());
    }

    [Fact]
    public async Task When_the_event_cannot_be_written_the_job_status_does_not_change()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);

        await using (await RefuseEventInsertsAsync($"new.job_id = '{job}'"))
        {
            (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureProblem(500, "internal_error");
        }

        var after = (await client.GetJsonAsync($"/api/runner-jobs/{job}")).EnsureStatus(200).Json;
        Assert.Equal("RUNNING", after.Str("status"));
        Assert.Null(after.Str("completedAt"));
        Assert.Equal(["job.created", "job.started"], (await client.ListAllEventsAsync(job)).Select(e => e.Type()));
        Assert.Equal(2, await fixture.CountAsOwnerAsync("outbox", fixture.DefaultWorkspaceId, job));

        // Once events can be written again, the same change goes through, with the next seq.
        (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);
        var events = await client.ListAllEventsAsync(job);
        Assert.Equal("job.completed", events[^1].Type());
        EventsApi.AssertGapless(events);
    }

    [Fact]
    public async Task When_the_event_cannot_be_written_the_step_status_and_token_counts_do_not_change()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(job, "review", "EXECUTION", "AI_ACTION")).Id();
        (await client.SetStepStatusAsync(job, step, "RUNNING")).EnsureStatus(200);

        await using (await RefuseEventInsertsAsync($"new.step_id = '{step}'"))
        {
            (await client.SetStepStatusAsync(job, step, "COMPLETED")).EnsureProblem(500);
            (await client.PostJsonAsync($"/api/runner-jobs/{job}/steps/{step}/tokens", new { input = 10, output = 5 })).EnsureProblem(500);
        }

        var after = (await client.GetJsonAsync($"/api/runner-jobs/{job}/steps/{step}")).EnsureStatus(200).Json;
        Assert.Equal("RUNNING", after.Str("status"));
        Assert.Equal(0, after.GetProperty("tokensInput").GetInt64());
        Assert.Equal(["job.created", "step.started"], (await client.ListAllEventsAsync(job)).Select(e => e.Type()));
    }

    [Fact]
    public async Task When_job_created_cannot_be_written_the_job_is_not_created()
    {
        var client = fixture.Client();
        var name = "doomed-" + Guid.NewGuid().ToString("N");
        var jobsBefore = await fixture.ScalarAsOwnerAsync<long>("select count(*) from runner_jobs.jobs", fixture.DefaultWorkspaceId.ToString());

        await using (await RefuseEventInsertsAsync($"new.payload->>'name' = '{name}'"))
        {
            (await client.PostJsonAsync("/api/runner-jobs", new { type = "ci", name })).EnsureProblem(500);
        }

        Assert.Equal(jobsBefore, await fixture.ScalarAsOwnerAsync<long>("select count(*) from runner_jobs.jobs", fixture.DefaultWorkspaceId.ToString()));
    }

    [Fact]
    public async Task System_appends_notify_with_the_job_id_client_groups_notify_once_per_commit_and_a_refused_emit_does_not()
    {
        var client = fixture.Client();
        await using var listener = new NpgsqlConnection(fixture.App.ServiceConnectionString);
        await listener.OpenAsync();
        var received = new List<string>();
        listener.Notification += (_, n) =>
        {
            if (n.Channel == "job_events")
            {
                received.Add(n.Payload);
            }
        };
        await using (var listen = new NpgsqlCommand("listen job_events", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        var first = (await client.CreateJobAsync()).Id();
        var refused = (await client.CreateJobAsync()).Id();
        var last = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(refused, "CANCELLED")).EnsureStatus(200);
        await WaitForAsync(listener, received, 4);
        Assert.Equal([first.ToString(), refused.ToString(), last.ToString(), refused.ToString()], received);
        received.Clear();

        // Client emits are written by the group writer: one NOTIFY (no payload) per group commit that wrote events.
        (await client.EmitEventAsync(first, new { type = "step.output" })).EnsureStatus(201);
        (await client.EmitEventAsync(refused, new { type = "step.output" }, Guid.NewGuid().ToString())).EnsureProblem(409);
        (await client.EmitBatchAsync(Guid.CreateVersion7(), [new { type = "step.output" }])).EnsureProblem(404);
        (await client.EmitEventAsync(last, new { type = "step.output" })).EnsureStatus(201);
        (await client.SetJobStatusAsync(last, "CANCELLED")).EnsureStatus(200);
        await WaitForAsync(listener, received, 3);

        // Notifications arrive in commit order: one from a refused emit would sit before the system append's.
        Assert.Equal([string.Empty, string.Empty, last.ToString()], received);
    }

    private static async Task WaitForAsync(NpgsqlConnection listener, List<string> received, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (received.Count < count && DateTime.UtcNow < deadline)
        {
            await listener.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds)));
        }
    }

    /// <summary>As the owner, makes inserts into job_events.events that match <paramref name="condition"/> fail, until disposed.</summary>
    private async Task<IAsyncDisposable> RefuseEventInsertsAsync(string condition)
    {
        var name = "test_refuse_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsOwnerAsync(
            $"""
            create function job_events.{name}() returns trigger language plpgsql as $$
            begin
                raise exception 'event writes are refused by a test';
            end
            $$;
            create trigger {name} before insert on job_events.events
                for each row when ({condition}) execute function job_events.{name}();
            """);
        return new Restore(() => ExecuteAsOwnerAsync($"drop trigger {name} on job_events.events; drop function job_events.{name}();"));
    }

    private async Task ExecuteAsOwnerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(fixture.App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private sealed class Restore(Func<Task> restore) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await restore();
    }
}
