using System.ComponentModel.DataAnnotations;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// <c>JobTrail:Postgres</c> is the service role (owns nothing, subject to row-level security);
/// <c>JobTrail:PostgresOwner</c> owns the schemas and applies migrations (the service role when unset).
/// <c>JobTrail:PostgresReplica</c>, optional, is the same service role on a streaming replica that list
/// and audit queries read from. Bound from the <c>JobTrail</c> section and validated at start-up.
/// </summary>
public sealed class DatabaseOptions : IValidatableObject
{
    public const string Section = "JobTrail";

    [Required(AllowEmptyStrings = false, ErrorMessage = "JobTrail__Postgres is not set: set it to an Npgsql connection string (scripts/run.sh does this).")]
    public string? Postgres { get; set; }

    public string? PostgresOwner { get; set; }

    /// <summary>A streaming replica for list and audit queries; unset means every read goes to the primary.</summary>
    public string? PostgresReplica { get; set; }

    public bool HasReplica => !string.IsNullOrWhiteSpace(PostgresReplica);

    public string ServiceConnectionString => Postgres ?? throw new InvalidOperationException("JobTrail__Postgres is not set.");

    public string OwnerConnectionString => string.IsNullOrWhiteSpace(PostgresOwner) ? ServiceConnectionString : PostgresOwner;

    public bool UsesOneRole =>
        string.Equals(new NpgsqlConnectionStringBuilder(ServiceConnectionString).Username, new NpgsqlConnectionStringBuilder(OwnerConnectionString).Username, StringComparison.Ordinal);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!HasReplica || string.IsNullOrWhiteSpace(Postgres))
        {
            yield break;
        }

        var (replica, error) = Parse(PostgresReplica!);
        if (replica is null)
        {
            yield return new ValidationResult($"JobTrail__PostgresReplica is not an Npgsql connection string: {error}", [nameof(PostgresReplica)]);
            yield break;
        }

        if (string.IsNullOrWhiteSpace(replica.Host))
        {
            yield return new ValidationResult("JobTrail__PostgresReplica names no Host.", [nameof(PostgresReplica)]);
        }

        // Row-level security and the grants are the service role's: the replica must be read as that role.
        var service = new NpgsqlConnectionStringBuilder(ServiceConnectionString).Username;
        if (!string.Equals(replica.Username, service, StringComparison.Ordinal))
        {
            yield return new ValidationResult(
                $"JobTrail__PostgresReplica must log in as the service role of JobTrail__Postgres ('{service}'), not '{replica.Username}'.",
                [nameof(PostgresReplica)]);
        }
    }

    private static (NpgsqlConnectionStringBuilder? Builder, string? Error) Parse(string connectionString)
    {
        try
        {
            return (new NpgsqlConnectionStringBuilder(connectionString), null);
        }
        catch (ArgumentException ex)
        {
            return (null, ex.Message);
        }
    }
}
