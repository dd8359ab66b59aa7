using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.Access.Persistence;

namespace JobTrail.Modules.Access.Features.ListApiKeys;

/// <summary>A key as listed: never its secret or hash.</summary>
internal sealed record ApiKeyResponse(Guid Id, string Name, string ActorId, string[] Scopes, DateTime CreatedAt, string CreatedBy, DateTime? RevokedAt, string? RevokedBy);

internal sealed record ApiKeyCursor(Guid Id);

[RequiresScope(Scopes.Admin)]
internal sealed record ListApiKeysQuery(Guid WorkspaceId, int? Limit, string? Cursor) : IQuery<Page<ApiKeyResponse>>, ITargetsWorkspace
{
    public Guid TargetWorkspaceId => WorkspaceId;
}

internal sealed class ListApiKeysValidator : AbstractValidator<ListApiKeysQuery>
{
    public ListApiKeysValidator()
    {
        RuleFor(x => x.Limit).ValidLimit();
        RuleFor(x => x.Cursor).ValidCursor<ListApiKeysQuery, ApiKeyCursor>();
    }
}

internal sealed class ListApiKeysHandler(AccessDbContext db) : IRequestHandler<ListApiKeysQuery, Page<ApiKeyResponse>>
{
    public async Task<Page<ApiKeyResponse>> Handle(ListApiKeysQuery request, CancellationToken cancellationToken)
    {
        var limit = request.Limit ?? Paging.DefaultLimit;
        var query = db.ApiKeys.Where(k => k.WorkspaceId == request.WorkspaceId);
        if (request.Cursor is not null)
        {
            var after = Cursor.Decode<ApiKeyCursor>(request.Cursor).Id;
            query = query.Where(k => k.Id.CompareTo(after) > 0);
        }

        var rows = await query.OrderBy(k => k.Id).Take(limit + 1)
            .ProjectToType<ApiKeyResponse>(AccessMapping.Config)
            .ToListAsync(cancellationToken);
        return Paging.ToPage(rows, limit, k => new ApiKeyCursor(k.Id));
    }
}
