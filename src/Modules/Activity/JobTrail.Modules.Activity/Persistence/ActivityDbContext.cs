using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.Activity.Domain;

namespace JobTrail.Modules.Activity.Persistence;

/// <summary>
/// Pooled (see <see cref="ActivityDbContextRegistration"/>): a lease is bound to the request's
/// connection, transaction and workspace; the constructor may take nothing but options.
/// </summary>
internal sealed class ActivityDbContext(DbContextOptions<ActivityDbContext> options) : DbContext(options)
{
    public const string Schema = "activity";
    public const string Table = "activity_logs";

    /// <summary>The workspace of the lease's session; read by the query filter.</summary>
    public Guid WorkspaceId { get; set; }

    public DbSet<ActivityEntry> Activities => Set<ActivityEntry>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.HasDefaultSchema(Schema);
        modelBuilder.Entity<ActivityEntry>(e =>
        {
            e.ToTable(Table);
            // The table's key is (id, occurred_at), as partitioning requires; id alone is unique.
            e.HasKey(x => x.Id);
            e.Property(x => x.Id).HasColumnName("id").ValueGeneratedNever();
            e.Property(x => x.Position).HasColumnName("position").ValueGeneratedOnAdd();
            e.Property(x => x.WorkspaceId).HasColumnName("workspace_id");
            e.Property(x => x.ActorId).HasColumnName("actor_id");
            e.Property(x => x.Action).HasColumnName("action");
            e.Property(x => x.EntityType).HasColumnName("entity_type");
            e.Property(x => x.EntityId).HasColumnName("entity_id");
            e.Property(x => x.Outcome).HasColumnName("outcome").HasConversion(new UpperSnakeCaseEnumConverter<ActivityOutcome>());
            e.Property(x => x.Metadata).HasColumnName("metadata").HasColumnType("jsonb");
            e.Property(x => x.IpAddress).HasColumnName("ip_address").HasColumnType("inet");
            e.Property(x => x.UserAgent).HasColumnName("user_agent");
            e.Property(x => x.CorrelationId).HasColumnName("correlation_id");
            e.Property(x => x.OccurredAt).HasColumnName("occurred_at");
            e.Property(x => x.TraceParent).HasColumnName("trace_parent");
            e.HasQueryFilter(x => x.WorkspaceId == WorkspaceId);
        });
    }
}
