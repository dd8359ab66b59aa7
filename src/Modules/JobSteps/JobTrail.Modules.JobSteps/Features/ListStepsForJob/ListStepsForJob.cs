using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.JobSteps.Persistence;

namespace JobTrail.Modules.JobSteps.Features.ListStepsForJob;

internal sealed record StepCursor(int Ordinal);

/// <summary>A job's steps in ordinal order.</summary>
[RequiresScope(Scopes.JobsRead)]
[ReadsFromReplica]
internal sealed record ListStepsForJobQuery(Guid JobId, int? Limit, string? Cursor) : IQuery<Page<StepResponse>>;

internal sealed class ListStepsForJobValidator : AbstractValidator<ListStepsForJobQuery>
{
    public ListStepsForJobValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.Limit).ValidLimit();
        RuleFor(x => x.Cursor).ValidCursor<ListStepsForJobQuery, StepCursor>();
    }
}

internal sealed class ListStepsForJobHandler(JobStepsDbContext db, IMediator mediator) : IRequestHandler<ListStepsForJobQuery, Page<StepResponse>>
{
    public async Task<Page<StepResponse>> Handle(ListStepsForJobQuery request, CancellationToken cancellationToken)
    {
        await mediator.EnsureJobExistsAsync(request.JobId, cancellationToken);
        var limit = request.Limit ?? Paging.DefaultLimit;
        var query = db.Steps.Where(s => s.JobId == request.JobId);
        if (request.Cursor is not null)
        {
            var after = Cursor.Decode<StepCursor>(request.Cursor).Ordinal;
            query = query.Where(s => s.Ordinal > after);
        }

        // Projected in SQL: no tracked entities for a read-only page.
        var rows = await query.OrderBy(s => s.Ordinal).Take(limit + 1)
            .ProjectToType<StepResponse>(JobStepsMapping.Config).ToListAsync(cancellationToken);
        return Paging.ToPage(rows, limit, s => new StepCursor(s.Ordinal));
    }
}
