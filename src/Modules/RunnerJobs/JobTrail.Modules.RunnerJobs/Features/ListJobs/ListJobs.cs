using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.RunnerJobs.Domain;
using JobTrail.Modules.RunnerJobs.Persistence;

namespace JobTrail.Modules.RunnerJobs.Features.ListJobs;

internal sealed record JobCursor(Guid Id);

/// <summary>Newest first, optionally narrowed by status and type.</summary>
[RequiresScope(Scopes.JobsRead)]
[ReadsFromReplica]
internal sealed record ListJobsQuery(string? Status, string? Type, int? Limit, string? Cursor) : IQuery<Page<JobResponse>>;

internal sealed class ListJobsValidator : AbstractValidator<ListJobsQuery>
{
    public ListJobsValidator()
    {
        RuleFor(x => x.Status).Must(s => s is null || EnumText.TryParse<JobStatus>(s, out _))
            .WithMessage($"'status' must be one of {EnumText.AllSpelled<JobStatus>()}.");
        RuleFor(x => x.Type).MaximumLength(100).WithMessage("'type' must be at most 100 characters.");
        RuleFor(x => x.Limit).ValidLimit();
        RuleFor(x => x.Cursor).ValidCursor<ListJobsQuery, JobCursor>();
    }
}

internal sealed class ListJobsHandler(RunnerJobsDbContext db) : IRequestHandler<ListJobsQuery, Page<JobResponse>>
{
    public async Task<Page<JobResponse>> Handle(ListJobsQuery request, CancellationToken cancellationToken)
    {
        var limit = request.Limit ?? Paging.DefaultLimit;
        IQueryable<RunnerJob> query = db.Jobs;
        if (request.Status is not null && EnumText.TryParse<JobStatus>(request.Status, out var status))
        {
            query = query.Where(j => j.Status == status);
        }

        if (request.Type is not null)
        {
            query = query.Where(j => j.Type == request.Type);
        }

        if (request.Cursor is not null)
        {
            var before = Cursor.Decode<JobCursor>(request.Cursor).Id;
            query = query.Where(j => j.Id.CompareTo(before) < 0);
        }

        // Projected in SQL: no tracked entities for a read-only page.
        var rows = await query.OrderByDescending(j => j.Id).Take(limit + 1)
            .ProjectToType<JobResponse>(RunnerJobsMapping.Config).ToListAsync(cancellationToken);
        return Paging.ToPage(rows, limit, j => new JobCursor(j.Id));
    }
}
