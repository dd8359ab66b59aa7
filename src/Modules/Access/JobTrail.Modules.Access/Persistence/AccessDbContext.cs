
namespace JobTrail.Modules.Access.Persistence;

internal sealed class Workspace : IWorkspaceOwned
{
    public Guid WorkspaceId { get; init; }
    public required string Slug { get; init; }
    public required string Name { get; init; }
    public DateTime CreatedAt { get; init; }
    public required string CreatedBy { get; init; }
}

internal sealed class WorkspaceSlug
{
    public required string Slug { get; init; }
    public Guid WorkspaceId { get; init; }
}

internal sealed class ApiKeyDirectoryEntry
{
    public Guid KeyId { get; init; }
    public Guid WorkspaceId { get; init; }
}

internal sealed class ApiKey : IWorkspaceOwned
{
    public Guid Id { get; init; }
    public Guid WorkspaceId { get; init; }
    public required string Name { get; init; }
    public required string ActorId { get; init; }
    public required string[] Scopes { get; init; }
    public required byte[] SecretHash { get; init; }
    public DateTime CreatedAt { get; init; }
    public required string CreatedBy { get; init; }
    public DateTime? RevokedAt { get; set; }
    public string? RevokedBy { get; set; }
}

internal sealed class AccessDbContext(DbContextOptions<AccessDbContext> options, DbSession session)
    : WorkspaceDbContext(options, session, Schema)
{
    public const string Schema = "access";

    public DbSet<Workspace> Workspaces => Set<Workspace>();
    public DbSet<WorkspaceSlug> WorkspaceSlugs => Set<WorkspaceSlug>();
    public DbSet<ApiKeyDirectoryEntry> ApiKeyDirectory => Set<ApiKeyDirectoryEntry>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    protected override void Configure(ModelBuilder modelBuilder)
    {
        WorkspaceTable<Workspace>(modelBuilder, "workspaces").HasKey(x => x.WorkspaceId);
        // Directories: read before the workspace is known, so no workspace filter (ADR 0010).
        modelBuilder.Entity<WorkspaceSlug>().ToTable("workspace_slugs").HasKey(x => x.Slug);
        modelBuilder.Entity<ApiKeyDirectoryEntry>().ToTable("api_key_directory").HasKey(x => x.KeyId);
        WorkspaceTable<ApiKey>(modelBuilder, "api_keys").HasKey(x => x.Id);
    }
}
