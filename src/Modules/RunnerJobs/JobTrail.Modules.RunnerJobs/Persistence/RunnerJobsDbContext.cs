using JobTrail.Modules.RunnerJobs.Domain;

namespace JobTrail.Modules.RunnerJobs.Persistence;

internal sealed class RunnerJobsDbContext(DbContextOptions<RunnerJobsDbContext> options, DbSession session)
    : WorkspaceDbContext(options, session, Schema)
{
    public const string Schema = "runner_jobs";

    public DbSet<RunnerJob> Jobs => Set<RunnerJob>();

    protected override void Configure(ModelBuilder modelBuilder)
    {
        var jobs = WorkspaceTable<RunnerJob>(modelBuilder, "jobs");
        jobs.HasKey(x => x.Id);
        jobs.Property(x => x.Status).HasConversion(new UpperSnakeCaseEnumConverter<JobStatus>());
        jobs.Property(x => x.Metadata).HasColumnType("jsonb");
        jobs.Ignore(x => x.IsTerminal);
    }
}
