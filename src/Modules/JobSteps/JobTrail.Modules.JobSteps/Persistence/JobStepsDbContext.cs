using JobTrail.Modules.JobSteps.Domain;

namespace JobTrail.Modules.JobSteps.Persistence;

internal sealed class JobStepsDbContext(DbContextOptions<JobStepsDbContext> options, DbSession session)
    : WorkspaceDbContext(options, session, Schema)
{
    public const string Schema = "job_steps";

    public DbSet<JobStep> Steps => Set<JobStep>();

    protected override void Configure(ModelBuilder modelBuilder)
    {
        var steps = WorkspaceTable<JobStep>(modelBuilder, "steps");
        steps.HasKey(x => x.Id);
        steps.Property(x => x.Phase).HasConversion(new UpperSnakeCaseEnumConverter<StepPhase>());
        steps.Property(x => x.Type).HasConversion(new UpperSnakeCaseEnumConverter<StepType>());
        steps.Property(x => x.Status).HasConversion(new UpperSnakeCaseEnumConverter<StepStatus>());
    }
}
