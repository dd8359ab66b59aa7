using JobTrail.Modules.RunnerJobs.Contracts;
using JobTrail.Modules.RunnerJobs.Domain;
using JobTrail.Modules.RunnerJobs.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.RunnerJobs.Features.CreateJob;

[RequiresScope(Scopes.JobsWrite)]
[Audited("runner_job.created", "runner_job")]
internal sealed record CreateJobCommand(string? Type, string? Name, JsonElement? Metadata)
    : ICommand<JobResponse>, IAuditedCommand<JobResponse>
{
    public string? GetAuditEntityId(JobResponse? response) => response?.Id.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(JobResponse? response) =>
        new Dictionary<string, object?> { ["type"] = Type, ["name"] = Name };
}

internal sealed class CreateJobValidator : AbstractValidator<CreateJobCommand>
{
    public CreateJobValidator()
    {
        RuleFor(x => x.Type).NotEmpty().WithMessage("'type' is required.")
            .Matches("^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
            .WithMessage("'type' must be 1-100 characters of letters, digits and . _ : / -, starting with a letter or digit.");
        RuleFor(x => x.Name).MaximumLength(200).WithMessage("'name' must be at most 200 characters.");
        RuleFor(x => x.Metadata).OptionalJsonObject("metadata", JsonRules.MaxMetadataBytes);
    }
}

internal sealed class CreateJobHandler(RunnerJobsDbContext db, IMediator mediator, RequestContext context, TimeProvider clock)
    : IRequestHandler<CreateJobCommand, JobResponse>
{
    public async Task<JobResponse> Handle(CreateJobCommand request, CancellationToken cancellationToken)
    {
        var job = new RunnerJob
        {
            Id = Guid.CreateVersion7(),
            WorkspaceId = context.RequireWorkspace(),
            Type = request.Type!,
            Name = request.Name,
            Metadata = request.Metadata.ToStoredJson(),
            CreatedBy = context.RequireActor(),
            CreatedAt = clock.UtcNowMicros(),
        };
        db.Jobs.Add(job);
        await db.SaveChangesAsync(cancellationToken);
        // Subscribers (the event log) write in this transaction: their failure rolls the job back.
        await mediator.Publish(new RunnerJobCreated(job.Id, job.Type, job.Name), cancellationToken);
        return job.Adapt<JobResponse>(RunnerJobsMapping.Config);
    }
}
