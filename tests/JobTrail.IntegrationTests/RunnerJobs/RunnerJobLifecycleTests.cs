using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.RunnerJobs;

public sealed class RunnerJobLifecycleTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task A_created_job_is_pending_with_the_callers_actor_and_workspace()
    {
        var client = fixture.Client();
        var job = await client.CreateJobAsync("ci", "build", new { branch = "main" });

        Assert.Equal("PENDING", job.Str("status"));
        Assert.Equal("ci", job.Str("type"));
        Assert.Equal("build", job.Str("name"));
        Assert.Equal("main", job.GetProperty("metadata").GetProperty("branch").GetString());
        Assert.Equal("system:bootstrap", job.Str("createdBy"));
        Assert.Equal(fixture.DefaultWorkspaceId, job.GetProperty("workspaceId").GetGuid());
        Assert.Null(job.Str("startedAt"));

        var fetched = (await client.GetJsonAsync($"/api/runner-jobs/{job.Id()}")).EnsureStatus(200).Json;
        Assert.Equal(job.GetRawText(), fetched.GetRawText());
    }

    [Fact]
    public async Task A_job_runs_from_pending_through_queued_and_running_to_completed_with_its_duration()
    {
        var client = fixture.Client();
        var id = (await client.CreateJobAsync()).Id();

        var queued = (await client.SetJobStatusAsync(id, "QUEUED")).EnsureStatus(200).Json;
        Assert.NotNull(queued.Str("queuedAt"));
        var running = (await client.SetJobStatusAsync(id, "RUNNING")).EnsureStatus(200).Json;
        Assert.NotNull(running.Str("startedAt"));
        var completed = (await client.SetJobStatusAsync(id, "COMPLETED")).EnsureStatus(200).Json;

        Assert.Equal("COMPLETED", completed.Str("status"));
        var started = completed.GetProperty("startedAt").GetDateTime();
        var ended = completed.GetProperty("completedAt").GetDateTime();
        Assert.Equal((long)Math.Round((ended - started).TotalMilliseconds), completed.GetProperty("durationMs").GetInt64());
        Assert.Null(completed.Str("error"));
    }

    [Fact]
    public async Task A_failed_job_keeps_its_error()
    {
        var client = fixture.Client();
        var id = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(id, "RUNNING")).EnsureStatus(200);

        var failed = (await client.SetJobStatusAsync(id, "FAILED", "exit code 2")).EnsureStatus(200).Json;

        Assert.Equal("FAILED", failed.Str("status"));
        Assert.Equal("exit code 2", failed.Str("error"));
    }

    public static TheoryData<string[], string> InvalidTransitions()
    {
        // Path to reach a state, then a target that state may not move to.
        var reach = new Dictionary<string, string[]>
        {
            ["PENDING"] = [],
            ["QUEUED"] = ["QUEUED"],
            ["RUNNING"] = ["RUNNING"],
            ["COMPLETED"] = ["RUNNING", "COMPLETED"],
            ["FAILED"] = ["RUNNING", "FAILED"],
            ["CANCELLED"] = ["CANCELLED"],
        };
        var allowed = new Dictionary<string, string[]>
        {
            ["PENDING"] = ["QUEUED", "RUNNING", "CANCELLED"],
            ["QUEUED"] = ["RUNNING", "CANCELLED"],
            ["RUNNING"] = ["COMPLETED", "FAILED", "CANCELLED"],
            ["COMPLETED"] = [],
            ["FAILED"] = [],
            ["CANCELLED"] = [],
        };
        var data = new TheoryData<string[], string>();
        foreach (var (from, path) in reach)
        {
            foreach (var to in allowed.Keys.Where(t => !allowed[from].Contains(t)))
            {
                data.Add(path, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(InvalidTransitions))]
    public async Task Every_transition_outside_the_state_machine_is_a_409_and_changes_nothing(string[] path, string target)
    {
        var client = fixture.Client();
        var id = (await client.CreateJobAsync()).Id();
        foreach (var step in path)
        {
            (await client.SetJobStatusAsync(id, step)).EnsureStatus(200);
        }

        var before = (await client.GetJsonAsync($"/api/runner-jobs/{id}")).Json.GetRawText();
        var response = await client.SetJobStatusAsync(id, target, target is "FAILED" or "CANCELLED" ? "x" : null);

        response.EnsureProblem(409);
        Assert.Contains(target, response.Detail, StringComparison.Ordinal);
        Assert.Equal(before, (await client.GetJsonAsync($"/api/runner-jobs/{id}")).Json.GetRawText());
    }

    [Fact]
    public async Task An_unknown_job_is_a_404_problem()
    {
        var response = await fixture.Client().GetJsonAsync($"/api/runner-jobs/{Guid.CreateVersion7()}");
        response.EnsureProblem(404, "job_not_found");
    }

    [Fact]
    public async Task A_status_change_of_an_unknown_job_is_a_404_problem()
    {
        var response = await fixture.Client().SetJobStatusAsync(Guid.CreateVersion7(), "RUNNING");
        response.EnsureProblem(404, "job_not_found");
    }
}
