using JobTrail.BuildingBlocks.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace JobTrail.Host;

/// <summary>Ready when PostgreSQL answers as the service role and every known migration is applied.</summary>
internal sealed class PostgresReadinessCheck(NpgsqlDataSource dataSource, SqlMigrator migrator, DatabaseOptions database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var appRole = new NpgsqlConnectionStringBuilder(database.ServiceConnectionString).Username!;
            var expected = migrator.Discover(appRole).Count;
            await using var command = dataSource.CreateCommand("select count(*) from jobtrail_meta.migrations");
            var applied = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            var data = new Dictionary<string, object> { ["migrationsApplied"] = applied, ["migrationsKnown"] = expected };
            return applied >= expected
                ? HealthCheckResult.Healthy("PostgreSQL is reachable and migrated.", data)
                : HealthCheckResult.Unhealthy($"{expected - applied} migration(s) not applied.", data: data);
        }
        catch (PostgresException ex)
        {
            return HealthCheckResult.Unhealthy($"PostgreSQL refused the readiness query ({ex.SqlState}).", ex);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is not reachable.", ex);
        }
    }
}

/// <summary>Valkey down is degraded, not unready: the outbox holds events until it returns.</summary>
internal sealed class ValkeyReadinessCheck(JobTrail.BuildingBlocks.Valkey.IValkeyClient valkey) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await valkey.PingAsync();
            return HealthCheckResult.Healthy("Valkey is reachable.", new Dictionary<string, object> { ["latencyMs"] = latency.TotalMilliseconds });
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            return HealthCheckResult.Degraded("Valkey is not reachable: recent events come from PostgreSQL and live delivery waits in the outbox.", ex);
        }
    }
}
