using System.Text;
using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.JobEvents;

public sealed class EmitEventTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task An_emitted_event_is_201_with_exactly_the_event_shape_and_reads_back_the_same()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(job, "compile")).Id();
        var occurredAt = new DateTimeOffset(2026, 1, 15, 10, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234567);

        var response = await client.EmitEventAsync(job, new { type = "step.output", stepId = step, payload = new { line = "ok", n = 1.5 }, occurredAt });

        response.EnsureStatus(201);
        var e = response.Json;
        Assert.Equal(
            ["id", "jobId", "workspaceId", "seq", "type", "stepId", "payload", "actorId", "correlationId", "occurredAt", "recordedAt"],
            e.EnumerateObject().Select(p => p.Name));
        Assert.Equal(job, e.GetProperty("jobId").GetGuid());
        Assert.Equal(fixture.DefaultWorkspaceId, e.GetProperty("workspaceId").GetGuid());
        Assert.Equal(2, e.Seq());
        Assert.Equal("step.output", e.Type());
        Assert.Equal(step, e.StepId());
        Assert.Equal("ok", e.GetProperty("payload").GetProperty("line").GetString());
        Assert.Equal("system:bootstrap", e.Str("actorId"));
        Assert.Equal(response.Message.Headers.GetValues("X-Correlation-Id").Single(), e.Str("correlationId"));
        Assert.Equal(new DateTime(2026, 1, 15, 8, 0, 0, DateTimeKind.Utc).AddTicks(1234560), e.GetProperty("occurredAt").GetDateTime().ToUniversalTime());
        Assert.EndsWith("Z", e.Str("recordedAt"), StringComparison.Ordinal);
        Assert.Equal($"/api/runner-jobs/{job}/events/{e.Id()}", response.Message.Headers.Location?.OriginalString);
        Assert.False(response.Message.Headers.Contains("Idempotent-Replayed"));

        var read = (await client.GetJsonAsync($"/api/runner-jobs/{job}/events/{e.Id()}")).EnsureStatus(200).Json;
        Assert.Equal(e.GetRawText(), read.GetRawText());
    }

    [Fact]
    public async Task Without_occurredAt_an_event_occurred_when_it_was_recorded_and_payload_and_step_may_be_absent()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var e = (await client.EmitEventAsync(job, new { type = "gate.started" })).EnsureStatus(201).Json;

        Assert.Equal(e.Str("recordedAt"), e.Str("occurredAt"));
        Assert.Equal(JsonValueKind.Null, e.GetProperty("payload").ValueKind);
        Assert.Null(e.StepId());
    }

    public static TheoryData<string> SystemTypes() =>
        new("job.created", "job.queued", "job.started", "job.completed", "job.failed", "job.cancelled",
            "step.started", "step.completed", "step.failed", "ai.tokens_used");

    [Theory]
    [MemberData(nameof(SystemTypes))]
    public async Task A_client_emitting_a_system_type_gets_422_and_nothing_is_written(string type)
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var response = await client.EmitEventAsync(job, new { type });

        response.EnsureProblem(422, "system_event_type");
        Assert.Contains(type, response.Detail, StringComparison.Ordinal);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    public static TheoryData<string> ClientTypes() =>
        new("step.progress", "step.output", "ai.tool_called", "ai.artifact_created", "gate.started", "gate.passed", "gate.failed");

    [Theory]
    [MemberData(nameof(ClientTypes))]
    public async Task Clients_may_emit_every_client_type(string type)
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        (await client.EmitEventAsync(job, new { type })).EnsureStatus(201);
    }

    [Theory]
    [InlineData("job.exploded")]
    [InlineData("STEP.PROGRESS")]
    [InlineData("")]
    public async Task An_unknown_type_is_a_400_validation_problem(string type)
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var response = await client.EmitEventAsync(job, new { type });

        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("type", out _), response.Body);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_missing_type_is_a_400()
    {
        var job = (await fixture.Client().CreateJobAsync()).Id();
        (await fixture.Client().EmitEventAsync(job, new { payload = new { a = 1 } })).EnsureProblem(400, "validation_failed");
    }

    [Theory]
    [InlineData("COMPLETED")]
    [InlineData("FAILED")]
    [InlineData("CANCELLED")]
    public async Task Emitting_into_an_ended_job_is_a_409_and_nothing_is_written(string terminal)
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, terminal)).EnsureStatus(200);

        (await client.EmitEventAsync(job, new { type = "step.output" })).EnsureProblem(409, "job_terminal");
        (await client.EmitBatchAsync(job, [new { type = "step.output" }])).EnsureProblem(409, "job_terminal");

        Assert.Equal(3, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
        Assert.Equal(3, await fixture.CountAsOwnerAsync("outbox", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task Emitting_into_an_unknown_job_is_a_404()
    {
        var response = await fixture.Client().EmitEventAsync(Guid.CreateVersion7(), new { type = "step.output" });
        response.EnsureProblem(404, "job_not_found");
    }

    [Fact]
    public async Task A_step_of_another_job_is_422_and_an_unknown_job_with_a_step_is_still_404()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var other = (await client.CreateJobAsync()).Id();
        var foreignStep = (await client.CreateStepAsync(other, "elsewhere")).Id();

        (await client.EmitEventAsync(job, new { type = "step.output", stepId = foreignStep })).EnsureProblem(422, "step_not_in_job");
        (await client.EmitEventAsync(job, new { type = "step.output", stepId = Guid.CreateVersion7() })).EnsureProblem(422, "step_not_in_job");
        (await client.EmitEventAsync(Guid.CreateVersion7(), new { type = "step.output", stepId = foreignStep })).EnsureProblem(404, "job_not_found");
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_payload_over_64_KiB_is_refused_and_nothing_is_written()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var fits = await client.EmitEventAsync(job, new { type = "step.output", payload = new { text = new string('x', 64 * 1024 - 20) } });
        var tooBig = await client.EmitEventAsync(job, new { type = "step.output", payload = new { text = new string('x', 64 * 1024) } });

        fits.EnsureStatus(201);
        tooBig.EnsureProblem(400, "validation_failed");
        Assert.Contains("64 KiB", tooBig.Json.GetProperty("errors").GetProperty("payload")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal(2, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_payload_that_is_not_an_object_is_a_400()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var response = await client.PostRawAsync($"/api/runner-jobs/{job}/events", """{"type":"step.output","payload":["a","b"]}""");

        response.EnsureProblem(400, "validation_failed");
    }

    [Fact]
    public async Task A_payload_nested_deeper_than_32_is_a_400_and_nothing_is_written()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var nested = new StringBuilder();
        for (var i = 0; i < 40; i++)
        {
            nested.Append("{\"a\":");
        }

        nested.Append('1').Append('}', 40);

        var response = await client.PostRawAsync($"/api/runner-jobs/{job}/events", $$"""{"type":"step.output","payload":{{nested}}}""");

        response.EnsureProblem(400, "malformed_json");
        Assert.Contains("nested too deeply", response.Detail, StringComparison.Ordinal);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task An_unknown_property_is_a_400()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var response = await client.PostRawAsync($"/api/runner-jobs/{job}/events", """{"type":"step.output","seq":7}""");

        response.EnsureProblem(400, "malformed_json");
        Assert.Contains("'seq'", response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Emitting_needs_the_events_write_scope_and_reading_needs_events_read()
    {
        var tenant = await fixture.CreateTenantAsync();
        var job = (await tenant.Client.CreateJobAsync()).Id();
        var jobsOnly = fixture.Client(await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:jobs-only", ["jobs:read", "jobs:write"]));
        var writeOnly = fixture.Client(await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:writer", ["events:write"]));

        (await jobsOnly.EmitEventAsync(job, new { type = "step.output" })).EnsureProblem(403, "missing_scope");
        (await jobsOnly.EmitBatchAsync(job, [new { type = "step.output" }])).EnsureProblem(403, "missing_scope");
        (await jobsOnly.GetJsonAsync($"/api/runner-jobs/{job}/events")).EnsureProblem(403, "missing_scope");
        var emitted = (await writeOnly.EmitEventAsync(job, new { type = "step.output" })).EnsureStatus(201).Json;
        Assert.Equal("runner:writer", emitted.Str("actorId"));
        (await writeOnly.GetJsonAsync($"/api/runner-jobs/{job}/events/{emitted.Id()}")).EnsureProblem(403, "missing_scope");
    }

    [Fact]
    public async Task A_repeated_Idempotency_Key_returns_the_first_event_and_writes_nothing_more()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var key = Guid.NewGuid().ToString();
        var body = new { type = "step.progress", payload = new { percent = 10 } };

        var first = (await client.EmitEventAsync(job, body, key)).EnsureStatus(201);
        var repeat = (await client.EmitEventAsync(job, body, key)).EnsureStatus(201);

        Assert.Equal(first.Json.GetRawText(), repeat.Json.GetRawText());
        Assert.Equal("true", repeat.Message.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(first.Message.Headers.Location, repeat.Message.Headers.Location);
        Assert.Equal(2, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
        Assert.Equal(2, await fixture.CountAsOwnerAsync("outbox", fixture.DefaultWorkspaceId, job));

        // The next event, without the key, takes the next seq: the repeat consumed none.
        var next = (await client.EmitEventAsync(job, body)).EnsureStatus(201).Json;
        Assert.Equal(first.Json.Seq() + 1, next.Seq());
    }

    [Fact]
    public async Task A_repeat_that_only_differs_in_whitespace_or_key_order_is_still_a_repeat()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var key = Guid.NewGuid().ToString();

        var first = await client.SendJsonAsync($"/api/runner-jobs/{job}/events",
            new StringContent("""{"type":"step.output","payload":{"line":"a","n":1}}""", Encoding.UTF8, "application/json"), key);
        var repeat = await client.SendJsonAsync($"/api/runner-jobs/{job}/events",
            new StringContent("""{ "payload": { "n": 1, "line": "a" },  "type": "step.output" }""", Encoding.UTF8, "application/json"), key);

        first.EnsureStatus(201);
        repeat.EnsureStatus(201);
        Assert.Equal(first.Json.Id(), repeat.Json.Id());
    }

    [Fact]
    public async Task The_same_Idempotency_Key_with_a_different_request_is_a_409()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var key = Guid.NewGuid().ToString();
        (await client.EmitEventAsync(job, new { type = "step.progress", payload = new { percent = 10 } }, key)).EnsureStatus(201);

        (await client.EmitEventAsync(job, new { type = "step.progress", payload = new { percent = 20 } }, key)).EnsureProblem(409, "idempotency_key_reused");
        (await client.EmitBatchAsync(job, [new { type = "step.progress", payload = new { percent = 10 } }], key)).EnsureProblem(409, "idempotency_key_reused");

        Assert.Equal(2, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task An_Idempotency_Key_belongs_to_one_job()
    {
        var client = fixture.Client();
        var a = (await client.CreateJobAsync()).Id();
        var b = (await client.CreateJobAsync()).Id();
        var key = Guid.NewGuid().ToString();

        var onA = (await client.EmitEventAsync(a, new { type = "step.output" }, key)).EnsureStatus(201).Json;
        var onB = (await client.EmitEventAsync(b, new { type = "step.output" }, key)).EnsureStatus(201).Json;

        Assert.NotEqual(onA.Id(), onB.Id());
        Assert.Equal(b, onB.GetProperty("jobId").GetGuid());
    }

    [Fact]
    public async Task Concurrent_requests_with_one_Idempotency_Key_write_one_event_and_all_return_it()
    {
        var job = (await fixture.Client().CreateJobAsync()).Id();
        var key = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ =>
            fixture.Client().EmitEventAsync(job, new { type = "step.output", payload = new { line = "once" } }, key)));

        Assert.All(responses, r => r.EnsureStatus(201));
        Assert.Single(responses.Select(r => r.Json.Id()).Distinct());
        Assert.Equal(15, responses.Count(r => r.Message.Headers.Contains("Idempotent-Replayed")));
        Assert.Equal(2, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_repeat_after_the_job_ended_still_returns_the_first_event()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var key = Guid.NewGuid().ToString();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        var first = (await client.EmitEventAsync(job, new { type = "gate.passed" }, key)).EnsureStatus(201).Json;
        (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);

        var repeat = (await client.EmitEventAsync(job, new { type = "gate.passed" }, key)).EnsureStatus(201).Json;

        Assert.Equal(first.GetRawText(), repeat.GetRawText());
    }

    [Fact]
    public async Task A_new_Idempotency_Key_on_an_ended_or_unknown_job_is_refused_like_any_emit()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "CANCELLED")).EnsureStatus(200);

        (await client.EmitEventAsync(job, new { type = "gate.passed" }, Guid.NewGuid().ToString())).EnsureProblem(409, "job_terminal");
        (await client.EmitBatchAsync(job, [new { type = "gate.passed" }], Guid.NewGuid().ToString())).EnsureProblem(409, "job_terminal");
        (await client.EmitEventAsync(Guid.CreateVersion7(), new { type = "gate.passed" }, Guid.NewGuid().ToString())).EnsureProblem(404, "job_not_found");
        Assert.Equal(0, await fixture.CountAsOwnerAsync("idempotency_keys", fixture.DefaultWorkspaceId, job));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("ü-non-ascii")]
    public async Task A_malformed_Idempotency_Key_is_a_400(string key)
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/runner-jobs/{job}/events")
        {
            Content = System.Net.Http.Json.JsonContent.Create(new { type = "step.output" }),
        };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);

        var response = await Infrastructure.HttpClientJsonExtensions.ReadAsync(await client.SendAsync(request));

        response.EnsureProblem(400, "validation_failed");
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task An_Idempotency_Key_longer_than_255_characters_is_a_400()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.EmitEventAsync(job, new { type = "step.output" }, new string('k', 256))).EnsureProblem(400, "validation_failed");
        (await client.EmitEventAsync(job, new { type = "step.output" }, new string('k', 255))).EnsureStatus(201);
    }
}
