using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.JobSteps.Features.CreateStep;

internal sealed record CreateStepBody(string? Name, string? Phase, string? Type, int? Ordinal);

[RequiresScope(Scopes.JobsWrite)]
[Audited("job_step.created", "job_step")]
internal sealed record CreateStepCommand(Guid JobId, string? Name, string? Phase, string? Type, int? Ordinal)
    : ICommand<StepResponse>, IAuditedCommand<StepResponse>
{
    public string? GetAuditEntityId(StepResponse? response) => response?.Id.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(StepResponse? response) =>
        new Dictionary<string, object?> { ["jobId"] = JobId, ["name"] = Name, ["phase"] = Phase, ["type"] = Type, ["ordinal"] = response?.Ordinal ?? Ordinal };
}

internal sealed class CreateStepValidator : AbstractValidator<CreateStepCommand>
{
    public CreateStepValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.Name).NotEmpty().WithMessage("'name' is required.")
            .MaximumLength(200).WithMessage("'name' must be at most 200 characters.");
        RuleFor(x => x.Phase).NotEmpty().WithMessage("'phase' is required.")
            .Must(p => EnumText.TryParse<StepPhase>(p, out _)).WithMessage($"'phase' must be one of {EnumText.AllSpelled<StepPhase>()}.");
        RuleFor(x => x.Type).NotEmpty().WithMessage("'type' is required.")
            .Must(t => EnumText.TryParse<StepType>(t, out _)).WithMessage($"'type' must be one of {EnumText.AllSpelled<StepType>()}.");
        RuleFor(x => x.Ordinal).InclusiveBetween(1, 100_000).WithMessage("'ordinal' must be between 1 and 100000.");
    }
}

internal sealed class CreateStepHandler(JobStepsDbContext db, IMediator mediator, RequestContext context, TimeProvider clock)
    : IRequestHandler<CreateStepCommand, StepResponse>
{
    public async Task<StepResponse> Handle(CreateStepCommand request, CancellationToken cancellationToken)
    {
        // Locking the job also serialises ordinal assignment among concurrent creates.
        var job = await mediator.LockOpenJobAsync(request.JobId, cancellationToken);
        var ordinal = request.Ordinal
            ?? (await db.Steps.Where(s => s.JobId == job.Id).MaxAsync(s => (int?)s.Ordinal, cancellationToken) ?? 0) + 1;

        EnumText.TryParse<StepPhase>(request.Phase, out var phase);
        EnumText.TryParse<StepType>(request.Type, out var type);
        var step = new JobStep
        {
            Id = Guid.CreateVersion7(),
            WorkspaceId = job.WorkspaceId,
            JobId = job.Id,
            Ordinal = ordinal,
            Name = request.Name!,
            Phase = phase,
            Type = type,
            CreatedBy = context.RequireActor(),
            CreatedAt = clock.UtcNowMicros(),
        };
        db.Steps.Add(step);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation })
        {
            throw new ConflictException($"Runner job {job.Id} already has a step with ordinal {ordinal}.", "ordinal_taken");
        }

        return step.Adapt<StepResponse>(JobStepsMapping.Config);
    }
}
