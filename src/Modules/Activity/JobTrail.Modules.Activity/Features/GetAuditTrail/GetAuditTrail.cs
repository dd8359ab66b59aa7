using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.Activity.Domain;
using JobTrail.Modules.Activity.Persistence;

namespace JobTrail.Modules.Activity.Features.GetAuditTrail;

/// <summary>The page continues with positions above <see cref="After"/>.</summary>
internal sealed record AuditTrailCursor(long After);

/// <summary>Everything recorded about one entity, oldest first: successes and refused attempts alike.</summary>
[RequiresScope(Scopes.ActivityRead)]
[ReadsFromReplica]
internal sealed record GetAuditTrailQuery(string EntityType, string EntityId, int? Limit, string? Cursor) : IQuery<Page<ActivityResponse>>;

internal sealed class GetAuditTrailValidator : AbstractValidator<GetAuditTrailQuery>
{
    public GetAuditTrailValidator()
    {
        RuleFor(x => x.EntityType).Must(ActivityRules.IsEntityType)
            .WithMessage("'entityType' must be 1-64 characters of a-z, 0-9 and '_', starting with a letter.");
        RuleFor(x => x.EntityId).Must(ActivityRules.IsEntityId)
            .WithMessage($"'entityId' must be 1-{ActivityRules.MaxEntityIdLength} characters without control characters.");
        RuleFor(x => x.Limit).ValidLimit();
        RuleFor(x => x.Cursor).ValidCursor<GetAuditTrailQuery, AuditTrailCursor>();
    }
}

internal sealed class GetAuditTrailHandler(ActivityDbContext db) : IRequestHandler<GetAuditTrailQuery, Page<ActivityResponse>>
{
    public async Task<Page<ActivityResponse>> Handle(GetAuditTrailQuery request, CancellationToken cancellationToken)
    {
        var limit = request.Limit ?? Paging.DefaultLimit;
        var query = db.Activities.Where(a => a.EntityType == request.EntityType && a.EntityId == request.EntityId);
        if (request.Cursor is not null)
        {
            var after = Cursor.Decode<AuditTrailCursor>(request.Cursor).After;
            query = query.Where(a => a.Position > after);
        }

        var rows = await query.OrderBy(a => a.Position).Take(limit + 1).ToListAsync(cancellationToken);
        var page = Paging.ToPage(rows, limit, a => new AuditTrailCursor(a.Position));
        return new Page<ActivityResponse>(page.Items.Select(ActivityResponse.From).ToList(), page.NextCursor);
    }
}
