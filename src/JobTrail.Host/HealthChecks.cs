using JobTrail.BuildingBlocks.Persistence;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace JobTrail.Host;

/// <summary>
/// Ready when PostgreSQL answers as the service role and every known migration is applied. What it
/// finds is reported to <see cref="DatabaseAvailability"/>, so an outage (and its end) is logged even
/// when no request comes.
/// </summary>
internal sealed class PostgresReadinessCheck(
    NpgsqlDataSource dataSource, SqlMigrator migrator, DatabaseOptions database, DatabaseAvailability availability) : IHealthCheck
{
    private const string Source = "the readiness check";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var appRole = new NpgsqlConnectionStringBuilder(database.ServiceConnectionString).Username!;
            var expected = migrator.Discover(appRole).Count;
            await using var command = dataSource.CreateCommand("select count(*) from jobtrail_meta.migrations");
            var applied = Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
            availability.ReportReachable(Source);
            var data = new Dictionary<string, object> { ["migrationsApplied"] = applied, ["migrationsKnown"] = expected };
            return applied >= expected
                ? HealthCheckResult.Healthy("PostgreSQL is reachable and migrated.", data)
                : HealthCheckResult.Unhealthy($"{expected - applied} migration(s) not applied.", data: data);
        }
        catch (Exception ex) when (availability.ReportFailure(ex, Source))
        {
            // Without the exception: the outage is logged once, not with a stack trace on every probe.
            return HealthCheckResult.Unhealthy("PostgreSQL is not reachable.");
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

/// <summary>
/// The read replica, when configured: down is Degraded, not unready (list and audit queries read from
/// the primary meanwhile). Reports how far replay lags behind the last transaction it received.
/// </summary>
internal sealed class ReplicaReadinessCheck(ReadReplica replica) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (replica.DataSource is null)
        {
            return HealthCheckResult.Healthy("No read replica is configured: every read goes to the primary.");
        }

        try
        {
            await using var command = replica.DataSource.CreateCommand(
                """
                select pg_is_in_recovery(),
                       -- Caught up with all it received: no lag, however long ago the primary last wrote.
                       case when pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() then 0
                            else coalesce(extract(epoch from now() - pg_last_xact_replay_timestamp()), 0) end::float8
                """);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var data = new Dictionary<string, object> { ["inRecovery"] = reader.GetBoolean(0), ["replayLagSeconds"] = Math.Round(reader.GetDouble(1), 3) };
            replica.ReportReachable();
            return HealthCheckResult.Healthy("The read replica answers; list and audit queries read from it.", data);
        }
        catch (Exception ex) when (replica.ReportFailure(ex))
        {
            return HealthCheckResult.Degraded($"The read replica is not reachable (since {replica.DownSince:O}): list and audit queries read from the primary.");
        }
        catch (PostgresException ex)
        {
            return HealthCheckResult.Degraded($"The read replica refused the readiness query ({ex.SqlState}).", ex);
        }
    }
}
