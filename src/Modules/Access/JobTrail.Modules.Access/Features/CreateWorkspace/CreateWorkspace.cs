using JobTrail.Modules.Access.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.Access.Features.CreateWorkspace;

internal sealed record CreateWorkspaceBody(string? Slug, string? Name);

internal sealed record WorkspaceResponse(Guid Id, string Slug, string Name, DateTime CreatedAt, string CreatedBy);

/// <summary>The new workspace's id is chosen up front so the transaction can run as that workspace.</summary>
[RequiresScope(Scopes.System)]
[Audited("workspace.created", "workspace")]
internal sealed record CreateWorkspaceCommand(string? Slug, string? Name)
    : ICommand<WorkspaceResponse>, ITargetsWorkspace, IAuditedCommand<WorkspaceResponse>
{
    public Guid WorkspaceId { get; } = Guid.CreateVersion7();

    public Guid TargetWorkspaceId => WorkspaceId;

    public string? GetAuditEntityId(WorkspaceResponse? response) => WorkspaceId.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(WorkspaceResponse? response) =>
        new Dictionary<string, object?> { ["slug"] = Slug };
}

internal sealed class CreateWorkspaceValidator : AbstractValidator<CreateWorkspaceCommand>
{
    public CreateWorkspaceValidator()
    {
        RuleFor(x => x.Slug).NotEmpty().WithMessage("'slug' is required.")
            .Matches("^[a-z0-9][a-z0-9-]{0,62}$").WithMessage("'slug' must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit.");
        RuleFor(x => x.Name).NotEmpty().WithMessage("'name' is required.")
            .MaximumLength(200).WithMessage("'name' must be at most 200 characters.");
    }
}

internal sealed class CreateWorkspaceHandler(AccessDbContext db, RequestContext context, TimeProvider clock)
    : IRequestHandler<CreateWorkspaceCommand, WorkspaceResponse>
{
    public async Task<WorkspaceResponse> Handle(CreateWorkspaceCommand request, CancellationToken cancellationToken)
    {
        var workspace = new Workspace
        {
            WorkspaceId = request.WorkspaceId,
            Slug = request.Slug!,
            Name = request.Name!,
            CreatedAt = clock.UtcNowMicros(),
            CreatedBy = context.RequireActor(),
        };
        db.WorkspaceSlugs.Add(new WorkspaceSlug { Slug = workspace.Slug, WorkspaceId = workspace.WorkspaceId });
        db.Workspaces.Add(workspace);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException ex) when (ex.InnerException is Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation })
        {
            throw new ConflictException($"A workspace with slug '{request.Slug}' already exists.", "slug_taken");
        }

        return workspace.Adapt<WorkspaceResponse>(AccessMapping.Config);
    }
}
