using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobSteps.Contracts;
using JobTrail.Modules.RunnerJobs.Contracts;

namespace JobTrail.Modules.JobEvents.Features.RecordSystemEvents;

/// <summary>
/// The job.*, step.* and ai.tokens_used events: the log hears what RunnerJobs and JobSteps publish and
/// appends the matching event inside their open transaction, so the event commits with the change or
/// neither does. A job's first event creates its stream; a terminal job event seals it. The payload
/// shapes below are the log's catalog: they are part of the HTTP contract (property order included).
/// </summary>
internal sealed class RecordSystemEventsHandler(EventLog store, StreamHeads heads, RequestContext context, TimeProvider clock)
    : INotificationHandler<RunnerJobCreated>,
      INotificationHandler<RunnerJobStatusChanged>,
      INotificationHandler<JobStepStatusChanged>,
      INotificationHandler<JobStepTokensRecorded>
{
    public Task Handle(RunnerJobCreated notification, CancellationToken cancellationToken) =>
        AppendAsync(notification.JobId, JobEventTypes.JobCreated, null, new { type = notification.Type, name = notification.Name }, cancellationToken);

    public Task Handle(RunnerJobStatusChanged notification, CancellationToken cancellationToken)
    {
        var (from, to) = (notification.From, notification.To);
        var ended = new { from, to, durationMs = notification.DurationMs, error = notification.Error };
        return to switch
        {
            "QUEUED" => AppendAsync(notification.JobId, JobEventTypes.JobQueued, null, new { from, to }, cancellationToken),
            "RUNNING" => AppendAsync(notification.JobId, JobEventTypes.JobStarted, null, new { from, to }, cancellationToken),
            "COMPLETED" => AppendAsync(notification.JobId, JobEventTypes.JobCompleted, null, ended, cancellationToken),
            "FAILED" => AppendAsync(notification.JobId, JobEventTypes.JobFailed, null, ended, cancellationToken),
            "CANCELLED" => AppendAsync(notification.JobId, JobEventTypes.JobCancelled, null, ended, cancellationToken),
            _ => throw new InvalidOperationException($"No job event describes a move to {to}."),
        };
    }

    public Task Handle(JobStepStatusChanged notification, CancellationToken cancellationToken)
    {
        var n = notification;
        return n.Status switch
        {
            "RUNNING" => AppendAsync(n.JobId, JobEventTypes.StepStarted, n.StepId,
                new { stepId = n.StepId, name = n.Name, ordinal = n.Ordinal, phase = n.Phase, type = n.Type }, cancellationToken),
            "COMPLETED" => AppendAsync(n.JobId, JobEventTypes.StepCompleted, n.StepId,
                new { stepId = n.StepId, name = n.Name, ordinal = n.Ordinal, durationMs = n.DurationMs }, cancellationToken),
            "FAILED" => AppendAsync(n.JobId, JobEventTypes.StepFailed, n.StepId,
                new { stepId = n.StepId, name = n.Name, ordinal = n.Ordinal, durationMs = n.DurationMs, error = n.Error }, cancellationToken),
            _ => throw new InvalidOperationException($"No step event describes a move to {n.Status}."),
        };
    }

    public Task Handle(JobStepTokensRecorded notification, CancellationToken cancellationToken)
    {
        var n = notification;
        return AppendAsync(n.JobId, JobEventTypes.AiTokensUsed, n.StepId,
            new { input = n.Input, output = n.Output, totalInput = n.TotalInput, totalOutput = n.TotalOutput }, cancellationToken);
    }

    private async Task AppendAsync<TPayload>(Guid jobId, string type, Guid? stepId, TPayload payload, CancellationToken cancellationToken)
    {
        // The group writer's next append to this job reads the head again rather than find it moved.
        heads.Forget(jobId);
        var now = clock.UtcNowMicros();
        var stored = await store.AppendAsync(
            new AppendRequest(
                jobId,
                [new NewEvent(Guid.CreateVersion7(), type, stepId, JsonSerializer.Serialize(payload, JsonDefaults.Options), OccurredAt: null)],
                CreateStream: true,
                Seal: JobEventTypes.Terminal.Contains(type),
                IdempotencyKey: null,
                RequestHash: null,
                context.RequireActor(),
                context.CorrelationId,
                now),
            cancellationToken);
        if (stored.Count != 1)
        {
            throw JobEventErrors.Sealed(jobId);
        }

        JobEventMetrics.CountAppended(1, JobEventMetrics.System);
    }
}
