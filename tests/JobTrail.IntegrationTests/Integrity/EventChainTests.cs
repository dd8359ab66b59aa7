using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;

namespace JobTrail.IntegrationTests.Integrity;

/// <summary>Each job's events form an HMAC chain, linked in the emitting transaction.</summary>
public sealed class EventChainTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task A_jobs_whole_life_verifies_link_by_link()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        var step = (await client.CreateStepAsync(job, "review", "VALIDATION", "AI_ACTION")).Id();
        (await client.SetStepStatusAsync(job, step, "RUNNING")).EnsureStatus(200);
        (await client.EmitEventAsync(job, new { type = "ai.tool_called", stepId = step, payload = new { tool = "grep", args = new[] { "-r", "x" }, n = 1.50, big = 1e2 } })).EnsureStatus(201);
        (await client.EmitBatchAsync(job, Enumerable.Range(0, 20).Select(i => (object)new { type = "step.output", payload = new { i, line = $"é \"{i}\"\n" } }))).EnsureStatus(201);
        (await client.PostJsonAsync($"/api/runner-jobs/{job}/steps/{step}/tokens", new { input = 10, output = 2 })).EnsureStatus(200);
        (await client.SetStepStatusAsync(job, step, "COMPLETED")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);
        var events = await client.ListAllEventsAsync(job);

        var result = await VerifyAsync(client, job);

        Assert.Equal((true, events.Count, (long?)null, (string?)null), (result.Valid, result.Checked, result.FirstBadSeq, result.Reason));
        Assert.Equal(events.Count, result.LastSeq);
        Assert.Equal(await LastHashAsync(fixture, job), result.LastHash);
    }

    [Fact]
    public async Task Eight_concurrent_writers_on_one_job_leave_a_gapless_chain_that_verifies()
    {
        var job = (await fixture.Client().CreateJobAsync()).Id();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(async writer =>
        {
            var client = fixture.Client();
            for (var i = 0; i < 15; i++)
            {
                var response = i % 5 == 4
                    ? await client.EmitBatchAsync(job, [new { type = "step.output", payload = new { writer, i, part = 1 } }, new { type = "step.output", payload = new { writer, i, part = 2 } }])
                    : await client.EmitEventAsync(job, new { type = "step.progress", payload = new { writer, i } });
                response.EnsureStatus(201);
            }
        }));

        var events = await fixture.Client().ListAllEventsAsync(job);
        EventsApi.AssertGapless(events);
        Assert.Equal(1 + (8 * 18), events.Count);
        var result = await VerifyAsync(fixture.Client(), job);
        Assert.True(result.Valid, result.Detail);
        Assert.Equal(events.Count, result.Checked);
        var links = await fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.event_links where job_id = '{job}'", fixture.DefaultWorkspaceId.ToString());
        Assert.Equal(events.Count, links);
    }

    [Fact]
    public async Task Verifying_needs_events_read_and_an_unknown_job_is_404()
    {
        var job = (await fixture.Client().CreateJobAsync()).Id();
        var writer = await fixture.CreateTenantAsync("events:write");

        (await fixture.Client().GetJsonAsync($"/api/runner-jobs/{Guid.CreateVersion7()}/events/verify")).EnsureProblem(404, "job_not_found");
        (await writer.Client.GetJsonAsync($"/api/runner-jobs/{job}/events/verify")).EnsureProblem(403, "missing_scope");
    }

    internal static async Task<Verification> VerifyAsync(HttpClient client, Guid job) =>
        Verification.From((await client.GetJsonAsync($"/api/runner-jobs/{job}/events/verify")).EnsureStatus(200).Json);

    private static async Task<string?> LastHashAsync(JobTrailFixture fixture, Guid job) =>
        await fixture.ScalarAsOwnerAsync<string>(
            $"select encode(hash, 'hex') from job_events.event_links where job_id = '{job}' order by seq desc limit 1", fixture.DefaultWorkspaceId.ToString());
}

/// <summary>A verify answer.</summary>
public sealed record Verification(bool Valid, long Checked, long? FirstBadSeq, string? Reason, string? Detail, long? FromSeq, long? LastSeq, string? LastHash)
{
    public static Verification From(JsonElement json) => new(
        json.GetProperty("valid").GetBoolean(),
        json.GetProperty("checked").GetInt64(),
        json.GetProperty("firstBadSeq").ValueKind == JsonValueKind.Null ? null : json.GetProperty("firstBadSeq").GetInt64(),
        json.Str("reason"),
        json.Str("detail"),
        json.GetProperty("fromSeq").ValueKind == JsonValueKind.Null ? null : json.GetProperty("fromSeq").GetInt64(),
        json.GetProperty("lastSeq").ValueKind == JsonValueKind.Null ? null : json.GetProperty("lastSeq").GetInt64(),
        json.Str("lastHash"));

    public void AssertFails(long seq, string reason)
    {
        Assert.False(Valid, "the chain verified although it was tampered with");
        Assert.Equal((seq, reason), (FirstBadSeq!.Value, Reason));
    }
}
