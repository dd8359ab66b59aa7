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

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);

        modelBuilder.Entity<Workspace>(e =>
        {
            e.ToTable("workspaces");
            e.HasKey(x => x.WorkspaceId);
            e.Property(x => x.WorkspaceId).HasColumnName("workspace_id");
            e.Property(x => x.Slug).HasColumnName("slug");
            e.Property(x => x.Name).HasColumnName("name");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.CreatedBy).HasColumnName("created_by");
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });

        modelBuilder.Entity<WorkspaceSlug>(e =>
        {
            e.ToTable("workspace_slugs");
            e.HasKey(x => x.Slug);
            e.Property(x => x.Slug).HasColumnName("slug");
            e.Property(x => x.WorkspaceId).HasColumnName("workspace_id");
        });

        modelBuilder.Entity<ApiKeyDirectoryEntry>(e =>
        {
            e.ToTable("api_key_directory");
            e.HasKey(x => x.KeyId);
            e.Property(x => x.KeyId).HasColumnName("key_id");
            e.Property(x => x.WorkspaceId).HasColumnName("workspace_id");
        });

        modelBuilder.Entity<ApiKey>(e =>
        {
            e.ToTable("api_keys");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.WorkspaceId).HasColumnName("workspace_id");
            e.Property(x => x.Name).HasColumnName("name");
            e.Property(x => x.ActorId).HasColumnName("actor_id");
            e.Property(x => x.Scopes).HasColumnName("scopes");
            e.Property(x => x.SecretHash).HasColumnName("secret_hash");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.CreatedBy).HasColumnName("created_by");
            e.Property(x => x.RevokedAt).HasColumnName("revoked_at");
            e.Property(x => x.RevokedBy).HasColumnName("revoked_by");
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });
    }
}
