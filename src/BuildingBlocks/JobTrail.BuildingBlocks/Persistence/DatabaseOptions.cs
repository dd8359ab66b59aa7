using Microsoft.Extensions.Configuration;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// <c>JobTrail:Postgres</c> is the service role (owns nothing, subject to row-level security);
/// <c>JobTrail:PostgresOwner</c> owns the schemas and applies migrations.
/// </summary>
public sealed record DatabaseOptions(string ServiceConnectionString, string OwnerConnectionString)
{
    public bool UsesOneRole =>
        string.Equals(new NpgsqlConnectionStringBuilder(ServiceConnectionString).Username, new NpgsqlConnectionStringBuilder(OwnerConnectionString).Username, StringComparison.Ordinal);

    public static DatabaseOptions From(IConfiguration configuration)
    {
        var service = configuration["JobTrail:Postgres"];
        if (string.IsNullOrWhiteSpace(service))
        {
            throw new InvalidOperationException(
                "JobTrail:Postgres is not set. Set the environment variable JobTrail__Postgres to an Npgsql connection string (scripts/run.sh does this).");
        }

        var owner = configuration["JobTrail:PostgresOwner"];
        return new DatabaseOptions(service, string.IsNullOrWhiteSpace(owner) ? service : owner);
    }
}
