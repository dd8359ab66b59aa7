using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// A module's DbContext on the request's <see cref="DbSession"/>: snake_case columns, the module's schema as
/// default, and every workspace-owned table filtered to the session's workspace. Row-level security already
/// hides other workspaces' rows; the filter keeps EF's own queries saying the same thing.
/// </summary>
public abstract class WorkspaceDbContext(DbContextOptions options, DbSession session, string schema) : DbContext(options)
{
    protected sealed override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) => configurationBuilder.UseSnakeCaseColumns();

    protected sealed override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(schema);
        Configure(modelBuilder);
    }

    /// <summary>Maps the module's tables.</summary>
    protected abstract void Configure(ModelBuilder modelBuilder);

    /// <summary>Maps <typeparamref name="T"/> to <paramref name="table"/>, visible only in the session's workspace.</summary>
    protected EntityTypeBuilder<T> WorkspaceTable<T>(ModelBuilder modelBuilder, string table)
        where T : class, IWorkspaceOwned
    {
        var entity = modelBuilder.Entity<T>();
        entity.ToTable(table);
        entity.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        return entity;
    }
}
