using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Persistence;

namespace JobTrail.Modules.JobSteps.Features;

/// <summary>A command that changes one existing step: audited as a change of that step.</summary>
internal abstract record StepChangeCommand(Guid JobId, Guid StepId) : ICommand<StepResponse>, IAuditedCommand<StepResponse>
{
    public string? GetAuditEntityId(StepResponse? response) => StepId.ToString();

    public abstract IReadOnlyDictionary<string, object?>? GetAuditMetadata(StepResponse? response);
}

/// <summary>The ids every step change must carry; the slice's validator adds the rules of its body.</summary>
internal abstract class StepChangeValidator<TCommand> : AbstractValidator<TCommand>
    where TCommand : StepChangeCommand
{
    protected StepChangeValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.StepId).NotEmpty().WithMessage("'stepId' must be a step id.");
    }
}

internal static class StepChanges
{
    /// <summary>
    /// Locks the step (<see cref="StepJobs.LockStepForChangeAsync"/>), applies <paramref name="change"/>, saves, and
    /// publishes what <paramref name="change"/> returned. Subscribers (the event log) write in this transaction:
    /// their failure rolls the change back.
    /// </summary>
    public static async Task<StepResponse> ChangeStepAsync<TNotification>(
        this JobStepsDbContext db, IMediator mediator, StepChangeCommand command, Func<JobStep, TNotification> change,
        CancellationToken cancellationToken)
        where TNotification : INotification
    {
        var step = await db.LockStepForChangeAsync(mediator, command.JobId, command.StepId, cancellationToken);
        var changed = change(step);
        await db.SaveChangesAsync(cancellationToken);
        await mediator.Publish(changed, cancellationToken);
        return step.Adapt<StepResponse>(JobStepsMapping.Config);
    }
}
