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

    /// <summary>
    /// The service role's connection string, with automatic preparation on unless the operator chose
    /// otherwise: every statement of the hot path is a parameterised text that repeats, and planning a
    /// CTE such as the append's on every execution cost PostgreSQL more than running it (ADR 0033).
    /// <c>Max Auto Prepare=0</c> in <c>JobTrail__Postgres</c> turns it off (e.g. behind a pooler in
    /// transaction mode, where prepared statements do not survive).
    /// </summary>
    public string ServiceConnectionString => WithPreparation(Postgres ?? throw new InvalidOperationException("JobTrail__Postgres is not set."));

    /// <summary>The replica's connection string, with the same default as the primary's.</summary>
    public string? ReplicaConnectionString => HasReplica ? WithPreparation(PostgresReplica!) : null;

    /// <summary>Statements prepared per connection when the connection string does not say.</summary>
    public const int DefaultMaxAutoPrepare = 64;

    private static string WithPreparation(string connectionString)
    {
        // Npgsql's builder answers every keyword it knows as present; the plain parser answers what was written.
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        foreach (string keyword in written.Keys)
        {
            if (string.Equals(keyword.Replace(" ", string.Empty, StringComparison.Ordinal), "MaxAutoPrepare", StringComparison.OrdinalIgnoreCase))
            {
                return connectionString;
            }
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = DefaultMaxAutoPrepare }.ConnectionString;
    }

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
