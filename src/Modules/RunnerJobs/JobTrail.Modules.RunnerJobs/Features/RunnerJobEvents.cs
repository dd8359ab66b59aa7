using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.RunnerJobs.Domain;

namespace JobTrail.Modules.RunnerJobs.Features;

/// <summary>The job.* events a job's changes append to its event log, in the changing transaction.</summary>
internal static class RunnerJobEvents
{
    public static AppendJobEvent Created(RunnerJob job) =>
        new(job.Id, JobEventTypes.JobCreated, null, JsonSerializer.Serialize(new { type = job.Type, name = job.Name }, JsonDefaults.Options));

    public static AppendJobEvent StatusChanged(RunnerJob job, JobStatus from)
    {
        var (type, payload) = job.Status switch
        {
            JobStatus.Queued => (JobEventTypes.JobQueued, Transition(from, job)),
            JobStatus.Running => (JobEventTypes.JobStarted, Transition(from, job)),
            JobStatus.Completed => (JobEventTypes.JobCompleted, Ended(from, job)),
            JobStatus.Failed => (JobEventTypes.JobFailed, Ended(from, job)),
            JobStatus.Cancelled => (JobEventTypes.JobCancelled, Ended(from, job)),
            _ => throw new InvalidOperationException($"No job event describes a move to {EnumText.Spell(job.Status)}."),
        };
        return new AppendJobEvent(job.Id, type, null, payload);
    }

    private static string Transition(JobStatus from, RunnerJob job) =>
        JsonSerializer.Serialize(new { from = EnumText.Spell(from), to = EnumText.Spell(job.Status) }, JsonDefaults.Options);

    private static string Ended(JobStatus from, RunnerJob job) =>
        JsonSerializer.Serialize(
            new { from = EnumText.Spell(from), to = EnumText.Spell(job.Status), durationMs = job.DurationMs, error = job.Error },
            JsonDefaults.Options);
}
