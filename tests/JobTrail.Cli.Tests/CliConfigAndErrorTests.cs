using System.Text.Json;
using JobTrail.Client;
using JobTrail.Client.Tests.Infrastructure;

namespace JobTrail.Cli.Tests;

/// <summary>Where the CLI finds its server and key, how it reports errors, and the read commands.</summary>
public sealed class CliConfigAndErrorTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private const string Unreachable = "http://127.0.0.1:9";

    private string Good => fixture.BaseAddress.ToString();

    [Fact]
    public async Task Flags_win_over_the_environment()
    {
        var env = new Dictionary<string, string?> { ["JOBTRAIL_URL"] = Unreachable, ["JOBTRAIL_API_KEY"] = "jt_wrong" };

        var result = await CliProcess.RunAsync(["jobs", "--json", "--url", Good, "--api-key", fixture.BootstrapKey], env);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task The_environment_wins_over_the_config_file()
    {
        var env = new Dictionary<string, string?>
        {
            ["JOBTRAIL_URL"] = Good,
            ["JOBTRAIL_API_KEY"] = fixture.BootstrapKey,
            ["JOBTRAIL_CONFIG"] = ConfigFile(Unreachable, "jt_wrong"),
        };

        var result = await CliProcess.RunAsync(["jobs", "--json"], env);

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task The_config_file_is_used_when_neither_flag_nor_environment_is_set()
    {
        var good = await CliProcess.RunAsync(["jobs", "--json"], new Dictionary<string, string?> { ["JOBTRAIL_CONFIG"] = ConfigFile(Good, fixture.BootstrapKey) });
        var wrongKey = await CliProcess.RunAsync(["jobs", "--json"], new Dictionary<string, string?> { ["JOBTRAIL_CONFIG"] = ConfigFile(Good, "jt_wrong") });

        Assert.True(good.ExitCode == 0, good.ToString());
        Assert.Equal(1, wrongKey.ExitCode);
        Assert.StartsWith("jobtrail: 401", Assert.Single(wrongKey.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_default_config_file_is_read_from_the_home_directory()
    {
        var home = Directory.CreateTempSubdirectory("jobtrail-home-").FullName;
        Directory.CreateDirectory(Path.Combine(home, ".config", "jobtrail"));
        await File.WriteAllTextAsync(Path.Combine(home, ".config", "jobtrail", "config.json"), JsonSerializer.Serialize(new { url = Good, apiKey = fixture.BootstrapKey }));

        var result = await CliProcess.RunAsync(["jobs"], new Dictionary<string, string?> { ["HOME"] = home });

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("ID", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_api_error_is_one_line_with_the_problem_and_a_non_zero_exit_code()
    {
        var missing = Guid.NewGuid();

        var result = await CliProcess.RunAsync(["events", missing.ToString(), "--url", Good, "--api-key", fixture.BootstrapKey]);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.StartsWith("jobtrail: 404 ", line, StringComparison.Ordinal);
        Assert.Contains("job_not_found", line, StringComparison.Ordinal);
        Assert.Empty(result.Stdout);
    }

    [Fact]
    public async Task Missing_configuration_is_one_line_naming_every_place_to_set_it()
    {
        var result = await CliProcess.RunAsync(["jobs"]);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.StderrLines);
        Assert.Contains("--url", line, StringComparison.Ordinal);
        Assert.Contains("JOBTRAIL_URL", line, StringComparison.Ordinal);
        Assert.Contains("config.json", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_usage_error_is_one_line_and_exit_code_2()
    {
        var result = await CliProcess.RunAsync(["events", "not-a-guid", "--url", Good, "--api-key", fixture.BootstrapKey]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("jobtrail events --help", Assert.Single(result.StderrLines), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("tail")]
    [InlineData("jobs")]
    [InlineData("events")]
    [InlineData("activity")]
    [InlineData("verify")]
    public async Task Every_command_has_help(string command)
    {
        var result = await CliProcess.RunAsync([command, "--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains($"jobtrail {command}", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("--api-key", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tail_follows_a_job_to_its_end_without_colour_when_redirected()
    {
        using var client = fixture.Client();
        var job = await client.CreateJobAsync("tail.test");
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Running);
        using var tail = CliProcess.Start(["tail", job.Id.ToString(), "--url", Good, "--api-key", fixture.BootstrapKey]);
        await client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepOutput, new { line = "hello from the runner" }));
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Completed);

        var result = await tail.WaitAsync(TimeSpan.FromMinutes(1));

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["job.created", "job.started", "step.output", "job.completed"], lines.Select(l => l.Split("  ", StringSplitOptions.RemoveEmptyEntries)[2].Trim()));
        Assert.Contains("hello from the runner", lines[2], StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', result.Stdout);
    }

    [Fact]
    public async Task Jobs_events_and_verify_print_json_on_request()
    {
        using var client = fixture.Client();
        var job = await client.CreateJobAsync("json.test", "json");
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Running);
        await client.EmitEventAsync(job.Id, NewJobEvent.Create(JobEventType.StepProgress, new { percent = 50 }));
        string[] connection = ["--url", Good, "--api-key", fixture.BootstrapKey];

        var events = await CliProcess.RunAsync(["events", job.Id.ToString(), "--json", .. connection]);
        var verify = await CliProcess.RunAsync(["verify", job.Id.ToString(), "--json", .. connection]);
        var activity = await CliProcess.RunAsync(["verify", "--activity", .. connection]);

        Assert.True(events.ExitCode == 0, events.ToString());
        var page = JsonSerializer.Deserialize<Page<JobEvent>>(events.Stdout, JobTrailJson.Options)!;
        Assert.Equal(["job.created", "job.started", "step.progress"], page.Items.Select(e => e.Type));
        Assert.True(verify.ExitCode == 0, verify.ToString());
        Assert.True(JsonSerializer.Deserialize<ChainVerification>(verify.Stdout, JobTrailJson.Options)!.Valid);
        Assert.True(activity.ExitCode == 0, activity.ToString());
        Assert.StartsWith("valid: activity log", activity.Stdout, StringComparison.Ordinal);
    }

    private static string ConfigFile(string url, string apiKey)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("jobtrail-config-").FullName, "config.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { url, apiKey }));
        return path;
    }
}
