namespace JobTrail.Client;

/// <summary>
/// A running job: <c>await using var job = await client.StartJobAsync(...)</c>. On dispose the job
/// is set COMPLETED, or FAILED with the message of the first failure: one given to <see cref="Fail(Exception)"/>,
/// or a failed step of this job. A scope cannot see an exception that passes through <c>await using</c>,
/// so either call <see cref="Fail(Exception)"/> in a catch, or use <see cref="RunStepAsync"/>, which
/// fails the step and the job with the exception's message and rethrows it.
/// </summary>
public sealed class JobScope : IAsyncDisposable
{
    private string? failure;
    private bool ended;

    internal JobScope(JobTrailClient client, RunnerJob job)
    {
        Client = client;
        Job = job;
    }

    public JobTrailClient Client { get; }

    public RunnerJob Job { get; private set; }

    public Guid Id => Job.Id;

    /// <summary>The job will end FAILED with this error (the first failure wins).</summary>
    public void Fail(string error) => failure ??= error;

    public void Fail(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Fail(exception.Message);
    }

    /// <summary>Creates a step and sets it RUNNING; dispose it to complete it (or fail it, see <see cref="StepScope"/>).</summary>
    public async Task<StepScope> StepAsync(string name, StepPhase phase = StepPhase.Execution, StepType type = StepType.Command, CancellationToken cancellationToken = default)
    {
        var step = await Client.CreateStepAsync(Id, name, phase, type, cancellationToken: cancellationToken);
        step = await Client.ChangeStepStatusAsync(Id, step.Id, StepStatus.Running, cancellationToken: cancellationToken);
        return new StepScope(this, step);
    }

    /// <summary>Runs <paramref name="body"/> as a step: COMPLETED when it returns, FAILED (step and job) when it throws; the exception is rethrown.</summary>
    public async Task RunStepAsync(string name, Func<StepScope, Task> body, StepPhase phase = StepPhase.Execution, StepType type = StepType.Command, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        await using var step = await StepAsync(name, phase, type, cancellationToken);
        try
        {
            await body(step);
        }
        catch (Exception ex)
        {
            step.Fail(ex);
            throw;
        }
    }

    /// <summary>Appends a client event to the job's log (keyed, so retries never duplicate it).</summary>
    public Task<JobEvent> EmitAsync(string type, object? payload = null, Guid? stepId = null, CancellationToken cancellationToken = default) =>
        Client.EmitEventAsync(Id, NewJobEvent.Create(type, payload, stepId), cancellationToken: cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (ended)
        {
            return;
        }

        ended = true;
        Job = failure is null
            ? await Client.ChangeJobStatusAsync(Id, JobStatus.Completed)
            : await Client.ChangeJobStatusAsync(Id, JobStatus.Failed, failure);
    }
}

/// <summary>
/// A RUNNING step of a <see cref="JobScope"/>. On dispose it is set COMPLETED, or FAILED with the
/// error given to <see cref="Fail(Exception)"/>; a failed step also fails its job.
/// </summary>
public sealed class StepScope : IAsyncDisposable
{
    private readonly JobScope job;
    private string? failure;
    private bool ended;

    internal StepScope(JobScope job, JobStep step)
    {
        this.job = job;
        Step = step;
    }

    public JobStep Step { get; private set; }

    public Guid Id => Step.Id;

    public void Fail(string error)
    {
        failure ??= error;
        job.Fail($"Step '{Step.Name}' failed: {error}");
    }

    public void Fail(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        Fail(exception.Message);
    }

    /// <summary>Appends a client event tied to this step.</summary>
    public Task<JobEvent> EmitAsync(string type, object? payload = null, CancellationToken cancellationToken = default) =>
        job.EmitAsync(type, payload, Id, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        if (ended)
        {
            return;
        }

        ended = true;
        Step = failure is null
            ? await job.Client.ChangeStepStatusAsync(job.Id, Id, StepStatus.Completed)
            : await job.Client.ChangeStepStatusAsync(job.Id, Id, StepStatus.Failed, failure);
    }
}
