using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.JobSteps.Domain;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.JobSteps.Persistence;

internal sealed class JobStepsDbContext(DbContextOptions<JobStepsDbContext> options, DbSession session) : DbContext(options)
{
    public const string Schema = "job_steps";

    public DbSet<JobStep> Steps => Set<JobStep>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder) => configurationBuilder.UseSnakeCaseColumns();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.Entity<JobStep>(e =>
        {
            e.ToTable("steps");
            e.HasKey(x => x.Id);
            e.Property(x => x.Phase).HasConversion(new UpperSnakeCaseEnumConverter<StepPhase>());
            e.Property(x => x.Type).HasConversion(new UpperSnakeCaseEnumConverter<StepType>());
            e.Property(x => x.Status).HasConversion(new UpperSnakeCaseEnumConverter<StepStatus>());
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });
    }
}
