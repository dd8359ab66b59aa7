using System.Net.Http.Headers;
using System.Text;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.Integrity;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>
/// Groups written in one round trip (ADR 0046): the writer makes the chain links from the heads it committed last and
/// from what it predicts jsonb prints, and PostgreSQL refuses the group when either is not so; the group is then
/// written the way that reads them, and nothing of the refused attempt is kept.
/// </summary>
public sealed class WriteAheadTests(GroupCommitFixture fixture) : IClassFixture<GroupCommitFixture>
{
    private StreamHeads Heads => fixture.App.Services.GetRequiredService<StreamHeads>();

    private static StringContent Raw(string json) => new(json, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));

    private async Task<Verification> AssertChainVerifiesAsync(Guid job, int expected)
    {
        var events = await fixture.Client().ListAllEventsAsync(job);
        EventsApi.AssertGapless(events);
        Assert.Equal(expected, events.Count);
        var result = await EventChainTests.VerifyAsync(fixture.Client(), job);
        Assert.True(result.Valid, result.Detail);
        Assert.Equal(expected, result.Checked);
        return result;
    }

    [Fact]
    public async Task Emits_after_the_first_travel_in_one_round_trip_store_what_jsonb_prints_and_the_chain_verifies()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        // The first emit reads the head (job.created was written by the job's own command); the writer keeps it.
        (await client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "first" } })).EnsureStatus(201);
        Assert.True(Heads.TryGet(job, out var head));
        Assert.Equal(2, head.Seq);
        var ahead = fixture.Writer.WrittenAhead;
        var refused = fixture.Writer.AheadRefused;
        string[] payloads =
        [
            """{"n":[1.50e1, 100e-2, -0, -0.0, 1E+2, -1e-3, 0.00100, 1e-20, 12345678901234567890]}""",
            """{"bb":1,"a":2,"ccc":3,"ab":4,"é":5,"zz":6,"😀":7,"":8}""",
            """{"b":{"d":1,"c":[3]},"a":1}""",
            """{"s":"tab\t nl\n quote\" back\\ \u0001 \u001f \u007f é 😀 \/"}""",
            """{"deep":{"x":[{"y":[[],{}]}],"t":true,"f":false,"z":null}}""",
        ];

        var responses = new List<ApiResponse>();
        foreach (var payload in payloads)
        {
            responses.Add((await client.SendJsonAsync($"/api/runner-jobs/{job}/events", Raw($$"""{"type":"step.output","payload":{{payload}}}"""))).EnsureStatus(201));
        }

        var batch = (await client.EmitBatchAsync(job, Enumerable.Range(0, 10).Select(i => (object)new { type = "step.progress", payload = new { i, half = i / 2.0 } })))
            .EnsureStatus(201);

        Assert.Equal(payloads.Length + 1, fixture.Writer.WrittenAhead - ahead);
        Assert.Equal(refused, fixture.Writer.AheadRefused);
        // What each request was answered with is what was stored, payload text included.
        var stored = (await client.ListAllEventsAsync(job)).ToDictionary(e => e.Seq(), e => e.GetRawText());
        foreach (var response in responses)
        {
            Assert.Equal(stored[response.Json.Seq()], response.Json.GetRawText());
        }

        foreach (var e in batch.Json.GetProperty("items").EnumerateArray())
        {
            Assert.Equal(stored[e.Seq()], e.GetRawText());
        }

        var printed = await fixture.ScalarAsOwnerAsync<string>(
            $"select payload::text from job_events.events where job_id = '{job}' and seq = 3", fixture.DefaultWorkspaceId.ToString());
        Assert.Equal("""{"n": [15.0, 1.00, 0, 0.0, 100, -0.001, 0.00100, 0.00000000000000000001, 12345678901234567890]}""", printed);
        var result = await AssertChainVerifiesAsync(job, 2 + payloads.Length + 10);
        Assert.True(Heads.TryGet(job, out var last));
        Assert.Equal(result.LastSeq, last.Seq);
        Assert.Equal(result.LastHash, Convert.ToHexStringLower(last.Hash!));
    }

    [Fact]
    public async Task A_head_that_moved_behind_the_writer_is_refused_and_the_group_is_written_after_reading_it()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.EmitEventAsync(job, new { type = "step.output", payload = new { n = 1 } })).EnsureStatus(201);
        Assert.True(Heads.TryGet(job, out var head));

        // As if another instance had appended: the writer's head is one event behind the stream's.
        Heads.Set(fixture.DefaultWorkspaceId, job, head with { Seq = head.Seq - 1 });
        var refused = fixture.Writer.AheadRefused;
        var second = (await client.EmitEventAsync(job, new { type = "step.output", payload = new { n = 2 } })).EnsureStatus(201);
        Assert.Equal(refused + 1, fixture.Writer.AheadRefused);
        Assert.Equal(3, second.Json.Seq());

        // For the quiet period the job is written the reading way: no statement refused again, none written ahead.
        var ahead = fixture.Writer.WrittenAhead;
        (await client.EmitEventAsync(job, new { type = "step.output", payload = new { n = 3 } })).EnsureStatus(201);
        Assert.Equal(ahead, fixture.Writer.WrittenAhead);
        Assert.Equal(refused + 1, fixture.Writer.AheadRefused);

        // The right seq with another link's hash is refused too.
        var other = (await client.CreateJobAsync()).Id();
        (await client.EmitEventAsync(other, new { type = "step.output" })).EnsureStatus(201);
        Assert.True(Heads.TryGet(other, out head));
        Heads.Set(fixture.DefaultWorkspaceId, other, head with { Hash = new byte[32] });
        var third = (await client.EmitEventAsync(other, new { type = "step.output" })).EnsureStatus(201);
        Assert.Equal(refused + 2, fixture.Writer.AheadRefused);
        Assert.Equal(3, third.Json.Seq());

        // Nothing of the refused attempts was kept, and every link is the one its event needs.
        await AssertChainVerifiesAsync(job, 4);
        await AssertChainVerifiesAsync(other, 3);
        Assert.Equal(4, await fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.event_links where job_id = '{job}'", fixture.DefaultWorkspaceId.ToString()));
        Assert.Equal(3, await fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.event_links where job_id = '{other}'", fixture.DefaultWorkspaceId.ToString()));
    }

    [Fact]
    public async Task A_system_event_makes_the_next_emit_read_the_head_without_a_refused_attempt()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.EmitEventAsync(job, new { type = "step.output" })).EnsureStatus(201);
        Assert.True(Heads.TryGet(job, out _));

        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);

        Assert.False(Heads.TryGet(job, out _));
        var refused = fixture.Writer.AheadRefused;
        (await client.EmitEventAsync(job, new { type = "step.output" })).EnsureStatus(201);
        Assert.Equal(refused, fixture.Writer.AheadRefused);
        await AssertChainVerifiesAsync(job, 4);
    }

    [Fact]
    public async Task A_stream_sealed_behind_the_writer_refuses_the_group_and_the_emit_is_409_with_nothing_written()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.EmitEventAsync(job, new { type = "step.output" })).EnsureStatus(201);
        Assert.True(Heads.TryGet(job, out var head));
        (await client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        (await client.SetJobStatusAsync(job, "COMPLETED")).EnsureStatus(200);

        // As if the seal had come from another instance: the writer still has the head from before it.
        Heads.Set(fixture.DefaultWorkspaceId, job, head);
        var refused = fixture.Writer.AheadRefused;
        (await client.EmitEventAsync(job, new { type = "step.output" })).EnsureProblem(409, "job_terminal");

        Assert.Equal(refused + 1, fixture.Writer.AheadRefused);
        Assert.False(Heads.TryGet(job, out _));
        await AssertChainVerifiesAsync(job, 4);
    }

    [Fact]
    public async Task Another_workspace_naming_a_job_whose_head_is_remembered_gets_404_and_the_jobs_own_appends_still_go_ahead()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        (await client.EmitEventAsync(job, new { type = "step.output" })).EnsureStatus(201);
        Assert.True(Heads.TryGet(job, out _));
        var intruder = await fixture.CreateTenantAsync();
        var refused = fixture.Writer.AheadRefused;

        (await intruder.Client.EmitEventAsync(job, new { type = "step.output", payload = new { x = 1 } })).EnsureProblem(404, "job_not_found");

        Assert.Equal(refused, fixture.Writer.AheadRefused);
        Assert.Equal(0, await fixture.CountAsOwnerAsync("events", intruder.WorkspaceId, job));
        var ahead = fixture.Writer.WrittenAhead;
        (await client.EmitEventAsync(job, new { type = "step.output" })).EnsureStatus(201);
        Assert.Equal(ahead + 1, fixture.Writer.WrittenAhead);
        await AssertChainVerifiesAsync(job, 3);
    }

    [Fact]
    public async Task A_payload_jsonb_prints_otherwise_than_predicted_is_refused_and_stored_as_jsonb_prints_it()
    {
        var tenant = await fixture.CreateTenantAsync();
        var job = (await tenant.Client.CreateJobAsync()).Id();
        (await tenant.Client.EmitEventAsync(job, new { type = "step.output" })).EnsureStatus(201);
        var refused = fixture.Writer.AheadRefused;

        // A prediction that is wrong (the HTTP path predicts with StoredJson.Print): the check must catch it.
        var request = new AppendRequest(
            job, [new NewEvent(Guid.CreateVersion7(), "step.output", null, """{"a":1.50e1}""", null, PrintedJson: """{"a": 15}""")],
            CreateStream: false, Seal: false, null, null, "runner:test", "c", DateTime.UtcNow);
        var stored = Assert.Single(await fixture.Writer.AppendAsync(tenant.WorkspaceId, request, CancellationToken.None));

        Assert.Equal(refused + 1, fixture.Writer.AheadRefused);
        Assert.Equal("""{"a": 15.0}""", stored.PayloadJson);
        Assert.Equal(3, stored.Seq);
        var result = await EventChainTests.VerifyAsync(tenant.Client, job);
        Assert.True(result.Valid, result.Detail);
        Assert.Equal(3, result.Checked);
    }
}
