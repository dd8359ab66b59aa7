using JobTrail.BuildingBlocks.Errors;
using JobTrail.Modules.RunnerJobs.Domain;

namespace JobTrail.Modules.RunnerJobs.Tests;

public sealed class JobStateMachineTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static readonly HashSet<(JobStatus, JobStatus)> Allowed =
    [
        (JobStatus.Pending, JobStatus.Queued), (JobStatus.Pending, JobStatus.Running), (JobStatus.Pending, JobStatus.Cancelled),
        (JobStatus.Queued, JobStatus.Running), (JobStatus.Queued, JobStatus.Cancelled),
        (JobStatus.Running, JobStatus.Completed), (JobStatus.Running, JobStatus.Failed), (JobStatus.Running, JobStatus.Cancelled),
    ];

    public static TheoryData<string, string> AllPairs()
    {
        var data = new TheoryData<string, string>();
        foreach (var from in Enum.GetNames<JobStatus>())
        {
            foreach (var to in Enum.GetNames<JobStatus>())
            {
                data.Add(from, to);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllPairs))]
    public void Exactly_the_designed_transitions_are_allowed(string from, string to)
    {
        var (f, t) = (Enum.Parse<JobStatus>(from), Enum.Parse<JobStatus>(to));
        Assert.Equal(Allowed.Contains((f, t)), JobStateMachine.CanMove(f, t));
    }

    [Theory]
    [InlineData(nameof(JobStatus.Completed))]
    [InlineData(nameof(JobStatus.Failed))]
    [InlineData(nameof(JobStatus.Cancelled))]
    public void Terminal_states_are_final(string name)
    {
        var status = Enum.Parse<JobStatus>(name);
        Assert.True(JobStateMachine.IsTerminal(status));
        var error = Assert.Throws<ConflictException>(() => JobStateMachine.EnsureAllowed(status, JobStatus.Running));
        Assert.Equal("job_terminal", error.Code);
    }

    [Fact]
    public void A_refused_transition_names_the_allowed_ones()
    {
        var error = Assert.Throws<ConflictException>(() => JobStateMachine.EnsureAllowed(JobStatus.Queued, JobStatus.Completed));
        Assert.Equal("invalid_transition", error.Code);
        Assert.Equal("A QUEUED job cannot become COMPLETED; it may become RUNNING or CANCELLED.", error.Message);
    }

    [Fact]
    public void The_duration_runs_from_start_to_completion()
    {
        var job = NewJob();
        job.TransitionTo(JobStatus.Queued, null, T0);
        job.TransitionTo(JobStatus.Running, null, T0.AddSeconds(5));
        job.TransitionTo(JobStatus.Completed, null, T0.AddSeconds(5).AddMilliseconds(1234));

        Assert.Equal(T0, job.QueuedAt);
        Assert.Equal(1234, job.DurationMs);
    }

    [Fact]
    public void A_job_cancelled_before_it_started_has_no_duration()
    {
        var job = NewJob();
        job.TransitionTo(JobStatus.Cancelled, "not needed", T0);

        Assert.Null(job.DurationMs);
        Assert.Equal(T0, job.CompletedAt);
        Assert.Equal("not needed", job.Error);
    }

    private static RunnerJob NewJob() => new() { Id = Guid.CreateVersion7(), Type = "ci", CreatedBy = "user:1", CreatedAt = T0 };
}
