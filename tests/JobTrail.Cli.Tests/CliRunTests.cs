using System.Globalization;
using System.Text.Json;
using JobTrail.Client;
using JobTrail.Client.Tests.Infrastructure;

namespace JobTrail.Cli.Tests;

/// <summary><c>jobtrail run</c> as a separate process against the real API on a real port.</summary>
public sealed class CliRunTests(ClientFixture fixture) : IClassFixture<ClientFixture>
{
    private Dictionary<string, string?> Environment => new()
    {
        ["JOBTRAIL_URL"] = fixture.BaseAddress.ToString(),
        ["JOBTRAIL_API_KEY"] = fixture.BootstrapKey,
    };

    [Fact]
    public async Task Run_of_a_succeeding_command_exits_0_and_completes_the_job_with_its_output_in_order()
    {
        var result = await CliProcess.RunAsync(
            ["run", "--name", "greeting", "--type", "ci.test", "--", "sh", "-c", "echo one; echo two; echo oops >&2; echo three"], Environment);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("one\ntwo\nthree\n", result.Stdout);
        using var client = fixture.Client();
        var job = await client.GetJobAsync(result.JobId);
        Assert.Equal(JobStatus.Completed, job.Status);
        Assert.Equal(("ci.test", "greeting"), (job.Type, job.Name));
        var step = Assert.Single((await client.ListStepsAsync(job.Id)).Items);
        Assert.Equal(StepStatus.Completed, step.Status);

        var output = await OutputAsync(client, job.Id);
        Assert.All(output, e => Assert.Equal(step.Id, e.StepId));
        Assert.Equal(["one", "two", "three"], output.Where(e => Field(e, "stream") == "stdout").Select(e => Field(e, "line")));
        Assert.Equal(["oops"], output.Where(e => Field(e, "stream") == "stderr").Select(e => Field(e, "line")));
        var all = (await client.ListEventsAsync(job.Id, new EventQuery(Limit: 1000))).Items;
        Assert.Equal(JobEventType.JobCompleted, all[^1].Type);
    }

    [Fact]
    public async Task Run_of_a_failing_command_passes_its_exit_code_through_and_fails_the_job()
    {
        var result = await CliProcess.RunAsync(["run", "--", "sh", "-c", "echo about to fail; exit 3"], Environment);

        Assert.True(result.ExitCode == 3, result.ToString());
        using var client = fixture.Client();
        var job = await client.GetJobAsync(result.JobId);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Contains("exited with code 3", job.Error, StringComparison.Ordinal);
        Assert.Equal(StepStatus.Failed, Assert.Single((await client.ListStepsAsync(job.Id)).Items).Status);
        Assert.Equal(["about to fail"], (await OutputAsync(client, job.Id)).Select(e => Field(e, "line")));
    }

    [Fact]
    public async Task Run_of_a_command_printing_10000_lines_stores_every_line_once_in_order()
    {
        var result = await CliProcess.RunAsync(["run", "--", "seq", "1", "10000"], Environment);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.Stderr}");
        using var client = fixture.Client();
        Assert.Equal(JobStatus.Completed, (await client.GetJobAsync(result.JobId)).Status);
        var output = await OutputAsync(client, result.JobId);
        var expected = Enumerable.Range(1, 10_000).Select(i => i.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(expected, output.Select(e => Field(e, "line")));
        Assert.Equal(output.Count, output.Select(e => e.Seq).Distinct().Count());
    }

    [Fact]
    public async Task Run_of_a_command_that_does_not_exist_exits_127_and_fails_the_job()
    {
        var result = await CliProcess.RunAsync(["run", "--", "no-such-command-" + Guid.NewGuid().ToString("N")[..8]], Environment);

        Assert.True(result.ExitCode == 127, result.ToString());
        using var client = fixture.Client();
        var job = await client.GetJobAsync(result.JobId);
        Assert.Equal(JobStatus.Failed, job.Status);
        Assert.Contains("cannot start", job.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigint_stops_the_command_cancels_the_job_and_exits_130()
    {
        using var cli = CliProcess.Start(["run", "--", "sh", "-c", "echo started; exec sleep 120"], Environment);
        var jobId = await cli.JobId.WaitAsync(TimeSpan.FromMinutes(1));
        using var client = fixture.Client();
        // Interrupt only once the command runs and its first line is stored.
        await Eventually.GetAsync(() => OutputAsync(client, jobId), o => o.Count == 1, TimeSpan.FromSeconds(30), "the first output line");

        await cli.InterruptAsync();
        var result = await cli.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(result.ExitCode == 130, result.ToString());
        Assert.Equal(JobStatus.Cancelled, (await client.GetJobAsync(jobId)).Status);
        var events = (await client.ListEventsAsync(jobId, new EventQuery(Limit: 1000))).Items;
        Assert.Equal(JobEventType.JobCancelled, events[^1].Type);
    }

    private static async Task<List<JobEvent>> OutputAsync(JobTrailClient client, Guid jobId)
    {
        var all = new List<JobEvent>();
        string? cursor = null;
        do
        {
            var page = await client.ListEventsAsync(jobId, new EventQuery([JobEventType.StepOutput], Limit: 1000, Cursor: cursor));
            all.AddRange(page.Items);
            cursor = page.NextCursor;
        }
        while (cursor is not null);

        return all;
    }

    private static string? Field(JobEvent e, string name) =>
        e.Payload is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty(name, out var v) ? v.GetString() : null;
}
