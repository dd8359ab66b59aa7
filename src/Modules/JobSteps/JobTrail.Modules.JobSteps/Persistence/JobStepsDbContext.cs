using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.JobSteps.Domain;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.JobSteps.Persistence;

internal sealed class JobStepsDbContext(DbContextOptions<JobStepsDbContext> options, DbSession session) : DbContext(options)
{
    public const string Schema = "job_steps";

    public DbSet<JobStep> Steps => Set<JobStep>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.Entity<JobStep>(e =>
        {
            e.ToTable("steps");
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id");
            e.Property(x => x.WorkspaceId).HasColumnName("workspace_id");
            e.Property(x => x.JobId).HasColumnName("job_id");
            e.Property(x => x.Ordinal).HasColumnName("ordinal");
            e.Property(x => x.Name).HasColumnName("name");
            e.Property(x => x.Phase).HasColumnName("phase").HasConversion(new UpperSnakeCaseEnumConverter<StepPhase>());
            e.Property(x => x.Type).HasColumnName("type").HasConversion(new UpperSnakeCaseEnumConverter<StepType>());
            e.Property(x => x.Status).HasColumnName("status").HasConversion(new UpperSnakeCaseEnumConverter<StepStatus>());
            e.Property(x => x.CreatedBy).HasColumnName("created_by");
            e.Property(x => x.CreatedAt).HasColumnName("created_at");
            e.Property(x => x.StartedAt).HasColumnName("started_at");
            e.Property(x => x.CompletedAt).HasColumnName("completed_at");
            e.Property(x => x.DurationMs).HasColumnName("duration_ms");
            e.Property(x => x.TokensInput).HasColumnName("tokens_input");
            e.Property(x => x.TokensOutput).HasColumnName("tokens_output");
            e.Property(x => x.Error).HasColumnName("error");
            e.HasQueryFilter(x => x.WorkspaceId == session.WorkspaceId);
        });
    }
}
