using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.RunnerJobs.Domain;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.RunnerJobs.Persistence;

internal sealed class RunnerJobsDbContext(DbContextOptions<RunnerJobsDbContext> options, DbSession session) : DbContext(options)
{
    public const string Schema = "runner_jobs";

    public DbSet<RunnerJob> Jobs => Set<RunnerJob>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) => configurationBuilder.UseSnakeCaseColumns();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.Entity<RunnerJob>(e =>
        {
            e.ToTable("jobs");
            e.HasKey(x => x.Id);
            e.Property(x => x.Status).HasConversion(new UpperSnakeCaseEnumConverter<JobStatus>());
            e.Property(x => x.Metadata).HasColumnType("jsonb");
            e.Ignore(x => x.IsTerminal);
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });
    }
}
