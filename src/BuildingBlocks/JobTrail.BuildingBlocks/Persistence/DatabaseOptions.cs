using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// <c>JobTrail:Postgres</c> is the service role (owns nothing, subject to row-level security);
/// <c>JobTrail:PostgresOwner</c> owns the schemas and applies migrations (the service role when unset).
/// Bound from the <c>JobTrail</c> section and validated at start-up.
/// </summary>
public sealed class DatabaseOptions
{
    public const string Section = "JobTrail";

    [Required(AllowEmptyStrings = false, ErrorMessage = "JobTrail__Postgres is not set: set it to an Npgsql connection string (scripts/run.sh does this).")]
    public string? Postgres { get; set; }

    public string? PostgresOwner { get; set; }

    public string ServiceConnectionString => Postgres ?? throw new InvalidOperationException("JobTrail__Postgres is not set.");

    public string OwnerConnectionString => string.IsNullOrWhiteSpace(PostgresOwner) ? ServiceConnectionString : PostgresOwner;

    public bool UsesOneRole =>
        string.Equals(new NpgsqlConnectionStringBuilder(ServiceConnectionString).Username, new NpgsqlConnectionStringBuilder(OwnerConnectionString).Username, StringComparison.Ordinal);
}
