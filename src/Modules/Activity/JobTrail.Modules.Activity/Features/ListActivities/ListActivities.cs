using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.Activity.Domain;
using JobTrail.Modules.Activity.Persistence;

namespace JobTrail.Modules.Activity.Features.ListActivities;

/// <summary>The page continues with positions below <see cref="Before"/>.</summary>
internal sealed record ActivityListCursor(long Before);

/// <summary>
/// The workspace's activity, newest first, narrowed by any of the filters. <see cref="Action"/> is
/// exact (<c>runner_job.created</c>) or a prefix (<c>runner_job.*</c>); <see cref="From"/> is
/// inclusive and <see cref="To"/> exclusive.
/// </summary>
[RequiresScope(Scopes.ActivityRead)]
[ReadsFromReplica]
internal sealed record ListActivitiesQuery(
    string? ActorId,
    string? Action,
    string? EntityType,
    string? EntityId,
    string? Outcome,
    DateTimeOffset? From,
    DateTimeOffset? To,
    int? Limit,
    string? Cursor) : IQuery<Page<ActivityResponse>>, IActivityFilter;

internal sealed class ListActivitiesValidator : AbstractValidator<ListActivitiesQuery>
{
    public ListActivitiesValidator()
    {
        this.AddActivityFilterRules();
        RuleFor(x => x.EntityId).EntityId();
        RuleFor(x => x.To).LaterThanFrom(x => x.From);
        RuleFor(x => x.Limit).ValidLimit();
        RuleFor(x => x.Cursor).ValidCursor<ListActivitiesQuery, ActivityListCursor>();
    }
}

internal sealed class ListActivitiesHandler(ActivityDbContext db) : IRequestHandler<ListActivitiesQuery, Page<ActivityResponse>>
{
    public async Task<Page<ActivityResponse>> Handle(ListActivitiesQuery request, CancellationToken cancellationToken)
    {
        var limit = request.Limit ?? Paging.DefaultLimit;
        IQueryable<ActivityEntry> query = db.Activities;
        if (request.ActorId is not null)
        {
            query = query.Where(a => a.ActorId == request.ActorId);
        }

        if (request.Action is not null)
        {
            if (ActivityRules.TryGetPrefix(request.Action, out var entity))
            {
                // The action column sorts bytewise, so the prefix is an index range: '.' + 1 = '/'.
                var lower = entity + ".";
                var upper = entity + "/";
                query = query.Where(a => string.Compare(a.Action, lower) >= 0 && string.Compare(a.Action, upper) < 0);
            }
            else
            {
                query = query.Where(a => a.Action == request.Action);
            }
        }

        if (request.EntityType is not null)
        {
            query = query.Where(a => a.EntityType == request.EntityType);
        }

        if (request.EntityId is not null)
        {
            query = query.Where(a => a.EntityId == request.EntityId);
        }

        if (request.Outcome is not null && ActivityRules.TryParseOutcome(request.Outcome, out var outcome))
        {
            query = query.Where(a => a.Outcome == outcome);
        }

        if (request.From is { } from)
        {
            var since = from.UtcDateTime;
            query = query.Where(a => a.OccurredAt >= since);
        }

        if (request.To is { } to)
        {
            var until = to.UtcDateTime;
            query = query.Where(a => a.OccurredAt < until);
        }

        if (request.Cursor is not null)
        {
            var before = Cursor.Decode<ActivityListCursor>(request.Cursor).Before;
            query = query.Where(a => a.Position < before);
        }

        var rows = await query.OrderByDescending(a => a.Position).Take(limit + 1).ToListAsync(cancellationToken);
        var page = Paging.ToPage(rows, limit, a => new ActivityListCursor(a.Position));
        return new Page<ActivityResponse>(page.Items.Select(ActivityResponse.From).ToList(), page.NextCursor);
    }
}
