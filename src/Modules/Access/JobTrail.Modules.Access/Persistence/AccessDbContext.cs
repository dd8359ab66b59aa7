using JobTrail.BuildingBlocks.Persistence;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.Access.Persistence;

internal sealed class Workspace
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

internal sealed class ApiKey
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

internal sealed class AccessDbContext(DbContextOptions<AccessDbContext> options, DbSession session) : DbContext(options)
{
    public const string Schema = "access";

    public DbSet<Workspace> Workspaces => Set<Workspace>();
    public DbSet<WorkspaceSlug> WorkspaceSlugs => Set<WorkspaceSlug>();
    public DbSet<ApiKeyDirectoryEntry> ApiKeyDirectory => Set<ApiKeyDirectoryEntry>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) => configurationBuilder.UseSnakeCaseColumns();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);

        modelBuilder.Entity<Workspace>(e =>
        {
            e.ToTable("workspaces");
            e.HasKey(x => x.WorkspaceId);
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });

        modelBuilder.Entity<WorkspaceSlug>(e =>
        {
            e.ToTable("workspace_slugs");
            e.HasKey(x => x.Slug);
        });

        modelBuilder.Entity<ApiKeyDirectoryEntry>(e =>
        {
            e.ToTable("api_key_directory");
            e.HasKey(x => x.KeyId);
        });

        modelBuilder.Entity<ApiKey>(e =>
        {
            e.ToTable("api_keys");
            e.HasKey(x => x.Id);
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });
    }
}
