using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.RunnerJobs.Domain;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.RunnerJobs.Persistence;

internal sealed class RunnerJobsDbContext(DbContextOptions<RunnerJobsDbContext> options, DbSession session) : DbContext(options)
{
    public const string Schema = "runner_jobs";

    public DbSet<RunnerJob> Jobs => Set<RunnerJob>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.Entity<RunnerJob>(e =>
        {
            e.ToTable("jobs");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.WorkspaceId).HasColumnName("workspace_id");
            e.Property(x => x.Type).HasColumnName("type");
            e.Property(x => x.Name).HasColumnName("name");
            e.Property(x => x.Status).HasColumnName("status").HasConversion(new UpperSnakeCaseEnumConverter<JobStatus>());
            e.Property(x => x.Metadata).HasColumnName("metadata").HasColumnType("jsonb");
            e.Property(x => x.CreatedBy).HasColumnName("created_by");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.QueuedAt).HasColumnName("queued_at");
            e.Property(x => x.StartedAt).HasColumnName("started_at");
            e.Property(x => x.CompletedAt).HasColumnName("completed_at");
            e.Property(x => x.DurationMs).HasColumnName("duration_ms");
            e.Property(x => x.Error).HasColumnName("error");
            e.Ignore(x => x.IsTerminal);
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });
    }
}
