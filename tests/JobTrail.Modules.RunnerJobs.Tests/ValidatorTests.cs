using System.Text.Json;
using JobTrail.Modules.RunnerJobs.Features.ChangeJobStatus;
using JobTrail.Modules.RunnerJobs.Features.CreateJob;
using JobTrail.Modules.RunnerJobs.Features.ListJobs;

namespace JobTrail.Modules.RunnerJobs.Tests;

public sealed class ValidatorTests
{
    [Theory]
    [InlineData("ci", true)]
    [InlineData("github-actions/build.v2", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("-leading-dash", false)]
    [InlineData("has space", false)]
    public void Job_types_are_short_tokens(string? type, bool valid) =>
        Assert.Equal(valid, new CreateJobValidator().Validate(new CreateJobCommand(type, null, null)).IsValid);

    [Theory]
    [InlineData("{\"a\":1}", true)]
    [InlineData("null", true)]
    [InlineData("[1]", false)]
    [InlineData("\"text\"", false)]
    public void Metadata_is_an_object_or_nothing(string json, bool valid) =>
        Assert.Equal(valid, new CreateJobValidator().Validate(new CreateJobCommand("ci", null, JsonSerializer.Deserialize<JsonElement>(json))).IsValid);

    [Theory]
    [InlineData("RUNNING", null, true)]
    [InlineData("FAILED", "boom", true)]
    [InlineData("CANCELLED", "no longer needed", true)]
    [InlineData("COMPLETED", "boom", false)]
    [InlineData("running", null, false)]
    [InlineData("DONE", null, false)]
    public void Status_changes_use_exact_spellings_and_errors_only_with_failure(string status, string? error, bool valid) =>
        Assert.Equal(valid, new ChangeJobStatusValidator().Validate(new ChangeJobStatusCommand(Guid.CreateVersion7(), status, error)).IsValid);

    [Theory]
    [InlineData(null, true)]
    [InlineData(1, true)]
    [InlineData(1000, true)]
    [InlineData(0, false)]
    [InlineData(1001, false)]
    public void List_limits_are_between_1_and_1000(int? limit, bool valid) =>
        Assert.Equal(valid, new ListJobsValidator().Validate(new ListJobsQuery(null, null, limit, null)).IsValid);
}
