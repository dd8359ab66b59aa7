using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.JobSteps;

public sealed class StepLifecycleTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task A_job_completes_with_two_steps_whose_durations_are_computed()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);

        var first = await client.CreateStepAsync(jobId, "checkout", "SETUP");
        var second = await client.CreateStepAsync(jobId, "compile", "EXECUTION");
        Assert.Equal(1, first.GetProperty("ordinal").GetInt32());
        Assert.Equal(2, second.GetProperty("ordinal").GetInt32());
        Assert.Equal("PENDING", first.Str("status"));

        foreach (var step in new[] { first.Id(), second.Id() })
        {
            var running = (await client.SetStepStatusAsync(jobId, step, "RUNNING")).EnsureStatus(200).Json;
            Assert.NotNull(running.Str("startedAt"));
            Assert.Equal(System.Text.Json.JsonValueKind.Null, running.GetProperty("durationMs").ValueKind);
            var done = (await client.SetStepStatusAsync(jobId, step, "COMPLETED")).EnsureStatus(200).Json;
            var started = done.GetProperty("startedAt").GetDateTime();
            var completed = done.GetProperty("completedAt").GetDateTime();
            Assert.True(completed >= started);
            Assert.Equal((long)Math.Round((completed - started).TotalMilliseconds), done.GetProperty("durationMs").GetInt64());
        }

        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        var steps = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps")).EnsureStatus(200).Json;
        Assert.Equal(["checkout", "compile"], steps.GetProperty("items").EnumerateArray().Select(s => s.Str("name")!).ToArray());
        Assert.All(steps.GetProperty("items").EnumerateArray(), s => Assert.Equal("COMPLETED", s.Str("status")));
        Assert.Equal(System.Text.Json.JsonValueKind.Null, steps.GetProperty("nextCursor").ValueKind);
    }

    [Fact]
    public async Task A_failed_step_keeps_its_error_and_duration()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(jobId, "test")).Id();
        (await client.SetStepStatusAsync(jobId, step, "RUNNING")).EnsureStatus(200);

        var failed = (await client.SetStepStatusAsync(jobId, step, "FAILED", "3 tests failed")).EnsureStatus(200).Json;

        Assert.Equal("FAILED", failed.Str("status"));
        Assert.Equal("3 tests failed", failed.Str("error"));
        Assert.True(failed.GetProperty("durationMs").GetInt64() >= 0);
    }

    [Theory]
    [InlineData(new string[0], "COMPLETED")]
    [InlineData(new string[0], "FAILED")]
    [InlineData(new[] { "RUNNING" }, "RUNNING")]
    [InlineData(new[] { "RUNNING", "COMPLETED" }, "RUNNING")]
    [InlineData(new[] { "RUNNING", "COMPLETED" }, "FAILED")]
    [InlineData(new[] { "RUNNING", "FAILED" }, "COMPLETED")]
    [InlineData(new[] { "RUNNING", "FAILED" }, "RUNNING")]
    public async Task Every_step_transition_outside_the_state_machine_is_a_409(string[] path, string target)
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(jobId, "s")).Id();
        foreach (var status in path)
        {
            (await client.SetStepStatusAsync(jobId, step, status)).EnsureStatus(200);
        }

        var before = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps/{step}")).Json.GetRawText();
        (await client.SetStepStatusAsync(jobId, step, target)).EnsureProblem(409);
        Assert.Equal(before, (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps/{step}")).Json.GetRawText());
    }

    [Fact]
    public async Task Pending_is_not_a_status_a_step_can_be_moved_to()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(jobId, "s")).Id();

        var response = await client.SetStepStatusAsync(jobId, step, "PENDING");

        response.EnsureProblem(400, "validation_failed");
        Assert.Contains("RUNNING, COMPLETED, FAILED", response.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_usage_adds_up_on_an_ai_action_step()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(jobId, "plan", "EXECUTION", "AI_ACTION")).Id();

        (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{step}/tokens", new { input = 100, output = 20 })).EnsureStatus(200);
        var after = (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{step}/tokens", new { input = 5, output = 7 })).EnsureStatus(200).Json;

        Assert.Equal(105, after.GetProperty("tokensInput").GetInt64());
        Assert.Equal(27, after.GetProperty("tokensOutput").GetInt64());
    }

    [Theory]
    [InlineData("COMMAND")]
    [InlineData("GATE")]
    [InlineData("ARTIFACT")]
    public async Task Token_usage_on_a_step_that_is_not_an_ai_action_is_a_409(string type)
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(jobId, "s", "EXECUTION", type)).Id();

        (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{step}/tokens", new { input = 1, output = 1 }))
            .EnsureProblem(409, "not_an_ai_step");
        var fetched = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps/{step}")).Json;
        Assert.Equal(0, fetched.GetProperty("tokensInput").GetInt64());
    }

    [Theory]
    [InlineData("{\"input\":-1,\"output\":0}", "input")]
    [InlineData("{\"input\":0,\"output\":-5}", "output")]
    [InlineData("{\"output\":3}", "input")]
    [InlineData("{\"input\":2000000000,\"output\":0}", "input")]
    public async Task Invalid_token_counts_are_a_400_naming_the_field(string body, string field)
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(jobId, "plan", "EXECUTION", "AI_ACTION")).Id();

        var response = await client.PostRawAsync($"/api/runner-jobs/{jobId}/steps/{step}/tokens", body);

        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out _), response.Body);
    }

    [Theory]
    [InlineData("COMPLETED")]
    [InlineData("FAILED")]
    [InlineData("CANCELLED")]
    public async Task No_step_can_be_added_or_changed_once_the_job_is_terminal(string terminal)
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        var step = (await client.CreateStepAsync(jobId, "s", "EXECUTION", "AI_ACTION")).Id();
        if (terminal != "CANCELLED")
        {
            (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        }

        (await client.SetJobStatusAsync(jobId, terminal)).EnsureStatus(200);

        (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps", new { name = "late", phase = "CLEANUP", type = "COMMAND" }))
            .EnsureProblem(409, "job_terminal");
        (await client.SetStepStatusAsync(jobId, step, "RUNNING")).EnsureProblem(409, "job_terminal");
        (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{step}/tokens", new { input = 1, output = 1 })).EnsureProblem(409, "job_terminal");
        var steps = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps")).Json.GetProperty("items");
        Assert.Equal(1, steps.GetArrayLength());
    }

    [Fact]
    public async Task An_explicit_ordinal_is_kept_and_a_taken_one_is_a_409()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();

        var tenth = (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps", new { name = "a", phase = "SETUP", type = "COMMAND", ordinal = 10 })).EnsureStatus(201).Json;
        var next = await client.CreateStepAsync(jobId, "b");
        var clash = await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps", new { name = "c", phase = "SETUP", type = "COMMAND", ordinal = 10 });

        Assert.Equal(10, tenth.GetProperty("ordinal").GetInt32());
        Assert.Equal(11, next.GetProperty("ordinal").GetInt32());
        clash.EnsureProblem(409, "ordinal_taken");
    }

    [Fact]
    public async Task Concurrent_step_creation_gives_distinct_consecutive_ordinals()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();

        var created = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => client.CreateStepAsync(jobId, $"s{i}")));

        Assert.Equal(Enumerable.Range(1, 12), created.Select(s => s.GetProperty("ordinal").GetInt32()).Order());
    }

    [Theory]
    [InlineData("{\"phase\":\"SETUP\",\"type\":\"COMMAND\"}", "name")]
    [InlineData("{\"name\":\"x\",\"phase\":\"BUILD\",\"type\":\"COMMAND\"}", "phase")]
    [InlineData("{\"name\":\"x\",\"phase\":\"SETUP\",\"type\":\"SHELL\"}", "type")]
    [InlineData("{\"name\":\"x\",\"phase\":\"setup\",\"type\":\"COMMAND\"}", "phase")]
    [InlineData("{\"name\":\"x\",\"phase\":\"SETUP\",\"type\":\"COMMAND\",\"ordinal\":0}", "ordinal")]
    public async Task Invalid_steps_are_a_400_naming_the_field_and_nothing_is_written(string body, string field)
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();

        var response = await client.PostRawAsync($"/api/runner-jobs/{jobId}/steps", body);

        response.EnsureProblem(400, "validation_failed");
        Assert.True(response.Json.GetProperty("errors").TryGetProperty(field, out _), response.Body);
        Assert.Equal(0, (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps")).Json.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task Steps_of_an_unknown_job_are_a_404()
    {
        var client = fixture.Client();
        var unknown = Guid.CreateVersion7();

        (await client.GetJsonAsync($"/api/runner-jobs/{unknown}/steps")).EnsureProblem(404, "job_not_found");
        (await client.PostJsonAsync($"/api/runner-jobs/{unknown}/steps", new { name = "x", phase = "SETUP", type = "COMMAND" })).EnsureProblem(404, "job_not_found");
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps/{unknown}")).EnsureProblem(404, "step_not_found");
        (await client.SetStepStatusAsync(jobId, unknown, "RUNNING")).EnsureProblem(404, "step_not_found");
    }

    [Fact]
    public async Task Steps_are_listed_by_ordinal_across_pages()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        for (var i = 0; i < 7; i++)
        {
            await client.CreateStepAsync(jobId, $"s{i}");
        }

        var seen = new List<int>();
        string? cursor = null;
        do
        {
            var page = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/steps?limit=3" + (cursor is null ? "" : $"&cursor={cursor}"))).EnsureStatus(200).Json;
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("ordinal").GetInt32()));
            cursor = page.Str("nextCursor");
        }
        while (cursor is not null);

        Assert.Equal(Enumerable.Range(1, 7), seen);
    }
}
