using System.Text;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.JobEvents;

public sealed class EmitEventBatchTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task A_batch_is_written_in_order_with_consecutive_seqs()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(job, "compile")).Id();

        var response = await client.EmitBatchAsync(job,
        [
            new { type = "step.progress", stepId = (Guid?)step, payload = (object?)new { percent = 10 } },
            new { type = "step.output", stepId = (Guid?)step, payload = (object?)new { line = "a" } },
            new { type = "gate.started", stepId = (Guid?)null, payload = (object?)null },
        ]);

        response.EnsureStatus(201);
        var items = response.Json.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal(["step.progress", "step.output", "gate.started"], items.Select(e => e.Type()));
        Assert.Equal([2L, 3L, 4L], items.Select(e => e.Seq()));
        var listed = await client.ListAllEventsAsync(job);
        Assert.Equal(items.Select(e => e.GetRawText()), listed.Skip(1).Select(e => e.GetRawText()));
        // One outbox row per append: job.created's, and one for the whole batch.
        var outbox = await fixture.QueryAsServiceAsync(
            $"select seq, last_seq, event_id from job_events.outbox where job_id = '{job}' order by id",
            null, r => (Seq: r.GetInt64(0), LastSeq: r.GetInt64(1), EventId: r.GetGuid(2)));
        Assert.Equal([(1L, 1L), (2L, 4L)], outbox.Select(o => (o.Seq, o.LastSeq)));
        Assert.Equal(items[0].Id(), outbox[1].EventId);
    }

    [Fact]
    public async Task A_batch_with_one_invalid_event_writes_nothing_and_names_the_event()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var eventsBefore = await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId);
        var outboxBefore = await fixture.CountAsOwnerAsync("outbox", fixture.DefaultWorkspaceId);
        var events = Enumerable.Range(0, 10).Select(i => (object)new { type = i == 7 ? "step.teleported" : "step.output", payload = new { i } }).ToList();

        var response = await client.EmitBatchAsync(job, events);

        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("events[7].type", out _), response.Body);
        Assert.Equal(eventsBefore, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId));
        Assert.Equal(outboxBefore, await fixture.CountAsOwnerAsync("outbox", fixture.DefaultWorkspaceId));
    }

    [Fact]
    public async Task A_batch_with_one_oversized_payload_writes_nothing()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var response = await client.EmitBatchAsync(job,
        [
            new { type = "step.output", payload = new { text = "small" } },
            new { type = "step.output", payload = new { text = new string('x', 64 * 1024) } },
        ]);

        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty("events[1].payload", out _), response.Body);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_batch_with_one_system_type_is_422_and_writes_nothing()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var response = await client.EmitBatchAsync(job, [new { type = "step.output" }, new { type = "step.output" }, new { type = "job.completed" }]);

        response.EnsureProblem(422, "system_event_type");
        Assert.StartsWith("events[2]:", response.Detail, StringComparison.Ordinal);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_batch_naming_a_step_of_another_job_is_422_and_writes_nothing()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var own = (await client.CreateStepAsync(job, "mine")).Id();
        var other = (await client.CreateJobAsync()).Id();
        var foreign = (await client.CreateStepAsync(other, "theirs")).Id();

        var response = await client.EmitBatchAsync(job, [new { type = "step.output", stepId = own }, new { type = "step.output", stepId = foreign }]);

        response.EnsureProblem(422, "step_not_in_job");
        Assert.StartsWith("events[1]:", response.Detail, StringComparison.Ordinal);
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task An_empty_batch_a_missing_list_and_a_null_event_are_400()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        (await client.EmitBatchAsync(job, [])).EnsureProblem(400, "validation_failed");
        (await client.PostRawAsync($"/api/runner-jobs/{job}/events/batch", "{}")).EnsureProblem(400, "validation_failed");
        (await client.PostRawAsync($"/api/runner-jobs/{job}/events/batch", """{"events":[{"type":"step.output"},null]}"""))
            .EnsureProblem(400, "validation_failed");
        Assert.Equal(1, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_batch_of_1000_is_accepted_and_1001_is_a_400()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var tooMany = await client.EmitBatchAsync(job, Enumerable.Range(0, 1001).Select(i => (object)new { type = "step.output" }));
        var most = await client.EmitBatchAsync(job, Enumerable.Range(0, 1000).Select(i => (object)new { type = "step.output" }));

        tooMany.EnsureProblem(400, "validation_failed");
        Assert.Contains("1000", tooMany.Detail, StringComparison.Ordinal);
        most.EnsureStatus(201);
        Assert.Equal(1000, most.Json.GetProperty("items").GetArrayLength());
        Assert.Equal(1001, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_batch_body_may_exceed_1_MiB_but_not_8_MiB()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var text = new string('x', 60 * 1024);

        var twoMiB = await client.EmitBatchAsync(job, Enumerable.Range(0, 35).Select(_ => (object)new { type = "step.output", payload = new { text } }));
        var nineMiB = await client.EmitBatchAsync(job, Enumerable.Range(0, 155).Select(_ => (object)new { type = "step.output", payload = new { text } }));
        var singleTwoMiB = await client.PostRawAsync($"/api/runner-jobs/{job}/events",
            "{\"type\":\"step.output\",\"payload\":{\"text\":\"" + new string('x', 2 * 1024 * 1024) + "\"}}");

        twoMiB.EnsureStatus(201);
        nineMiB.EnsureProblem(413, "payload_too_large");
        singleTwoMiB.EnsureProblem(413, "payload_too_large");
        Assert.Equal(36, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task A_repeated_batch_with_the_same_Idempotency_Key_returns_the_first_events()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        var key = Guid.NewGuid().ToString();
        var events = Enumerable.Range(0, 5).Select(i => (object)new { type = "step.output", payload = new { line = $"line {i}" } }).ToList();

        var first = (await client.EmitBatchAsync(job, events, key)).EnsureStatus(201);
        var repeat = (await client.EmitBatchAsync(job, events, key)).EnsureStatus(201);

        Assert.Equal(first.Json.GetRawText(), repeat.Json.GetRawText());
        Assert.Equal("true", repeat.Message.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(6, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));

        // Same key, different batch: refused, nothing written.
        (await client.EmitBatchAsync(job, events.Take(4), key)).EnsureProblem(409, "idempotency_key_reused");
        (await client.EmitEventAsync(job, events[0], key)).EnsureProblem(409, "idempotency_key_reused");
        Assert.Equal(6, await fixture.CountAsOwnerAsync("events", fixture.DefaultWorkspaceId, job));
    }

    [Fact]
    public async Task An_unknown_job_is_a_404()
    {
        var response = await fixture.Client().EmitBatchAsync(Guid.CreateVersion7(), [new { type = "step.output" }]);
        response.EnsureProblem(404, "job_not_found");
    }

    [Fact]
    public async Task Unknown_properties_inside_a_batch_event_are_a_400()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();

        var response = await client.SendJsonAsync($"/api/runner-jobs/{job}/events/batch",
            new StringContent("""{"events":[{"type":"step.output","actorId":"user:1"}]}""", Encoding.UTF8, "application/json"));

        response.EnsureProblem(400, "malformed_json");
    }
}
