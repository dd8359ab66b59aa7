using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Persistence;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using StackExchange.Redis;

namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>
/// Moves committed events from the outbox to Valkey: each job's stream (XADD, capped near 1000) and
/// its live channel (PUBLISH), in one script per event. One instance is active (an advisory lock);
/// it wakes on NOTIFY and polls as a fallback. A batch is claimed FOR UPDATE SKIP LOCKED, sent in
/// outbox order (per job that is seq order), then deleted and committed. If anything fails before the
/// commit the rows stay and are sent again; the script skips ids the stream already has, so a
/// re-send neither duplicates the stream nor republishes. While Valkey is down the relay backs off
/// and the outbox keeps everything.
/// </summary>
internal sealed class JobEventRelay(
    NpgsqlDataSource dataSource,
    DatabaseOptions database,
    IValkeyClient valkey,
    RelayOptions options,
    RelayState state,
    DatabaseAvailability availability,
    IServiceProvider services,
    ILogger<JobEventRelay> logger) : BackgroundService
{
    private const long LockKey = 0x4A_54_52_45_4C; // "JTREL"
    private static readonly TimeSpan StatsInterval = TimeSpan.FromSeconds(1);
    private DateTime statsTakenAt = DateTime.MinValue;
    private DateTime? activeSince;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            return;
        }

        var backoff = options.MinBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunWhileActiveAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                state.IsActive = false;
                if (activeSince is not null)
                {
                    // It was working: start the back-off again from the bottom.
                    backoff = options.MinBackoff;
                    activeSince = null;
                }

                Remember(ex);
                if (availability.ReportFailure(ex, "the event relay"))
                {
                    // Readiness says so and the outage is logged once; not a warning per retry.
                    state.DatabaseUnreachableSince ??= DateTime.UtcNow;
                    logger.LogDebug("Event relay cannot reach PostgreSQL; retrying in {Backoff}: {Error}", backoff, ex.Message);
                }
                else
                {
                    logger.LogWarning(ex, "Event relay lost its database connection; retrying in {Backoff}", backoff);
                }

                await DelayAsync(backoff, stoppingToken);
                backoff = Next(backoff);
            }
        }
    }

    private async Task RunWhileActiveAsync(CancellationToken stoppingToken)
    {
        // A connection of its own, never pooled: it holds the session advisory lock and the LISTEN,
        // and closing it (on any error) must end the session so that the lock is released at once.
        var unpooled = new NpgsqlConnectionStringBuilder(database.ServiceConnectionString) { Pooling = false };
        await using var control = new NpgsqlConnection(unpooled.ConnectionString);
        await control.OpenAsync(stoppingToken);
        state.DatabaseUnreachableSince = null;
        availability.ReportReachable("the event relay");
        while (!await TryLockAsync(control, stoppingToken))
        {
            state.IsActive = false;
            await DelayAsync(options.StandbyPollInterval, stoppingToken);
        }

        state.IsActive = true;
        activeSince = DateTime.UtcNow;
        logger.LogInformation("Event relay is active");
        await using (var listen = new NpgsqlCommand($"listen {JobEventStore.Channel}", control))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken);
        }

        var backoff = options.MinBackoff;
        while (!stoppingToken.IsCancellationRequested)
        {
            int relayed;
            try
            {
                relayed = await RelayBatchAsync(control, stoppingToken);
                backoff = options.MinBackoff;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException || ex.InnerException is RedisException)
            {
                Remember(ex);
                logger.LogWarning("Valkey unavailable, the outbox keeps the events; retrying in {Backoff}: {Error}", backoff, ex.Message);
                await UpdateStatsAsync(force: true, stoppingToken);
                await DelayAsync(backoff, stoppingToken);
                backoff = Next(backoff);
                continue;
            }

            await UpdateStatsAsync(force: false, stoppingToken);
            if (relayed < options.BatchSize)
            {
                // Sleep until a commit NOTIFYs, or the poll interval passes.
                await control.WaitAsync(options.PollInterval, stoppingToken);
            }
        }
    }

    /// <summary>
    /// Relays one batch on the session that holds the leadership lock: if that session has died, the
    /// batch fails with it, so a relay that lost the lock can never run beside the new leader.
    /// Returns how many events it delivered.
    /// </summary>
    internal async Task<int> RelayBatchAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var claimed = await ClaimAsync(connection, transaction, cancellationToken);
        if (claimed.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return 0;
        }

        var events = new Dictionary<Guid, StoredEvent>(claimed.Count);
        foreach (var group in claimed.GroupBy(r => r.WorkspaceId))
        {
            var ids = group.Select(r => r.EventId).ToArray();
            foreach (var stored in await JobEventStore.ReadForRelayAsync(connection, transaction, group.Key, ids, cancellationToken))
            {
                events[stored.Id] = stored;
            }
        }

        // Issued in outbox order on one multiplexed connection, so Valkey runs them in that order.
        var sends = new List<Task>(claimed.Count);
        foreach (var row in claimed)
        {
            if (!events.TryGetValue(row.EventId, out var stored))
            {
                logger.LogError("Outbox row {OutboxId} points at event {EventId}, which does not exist; dropping the row", row.Id, row.EventId);
                continue;
            }

            var json = JsonSerializer.Serialize(JobEventResponse.From(stored), JsonDefaults.Options);
            sends.Add(valkey.AppendAndPublishAsync(ValkeyKeys.Stream(row.JobId), ValkeyKeys.Channel(row.JobId), row.Seq, json, options.StreamMaxLength));
            if (JobEventTypes.Terminal.Contains(stored.Type))
            {
                sends.Add(valkey.ExpireAsync(ValkeyKeys.Stream(row.JobId), options.TerminalStreamTtl));
            }
        }

        await Task.WhenAll(sends);
        var outboxIds = claimed.Select(r => r.Id).ToArray();
        foreach (var hook in services.GetServices<IRelayCommitHook>())
        {
            await hook.BeforeCommitAsync(outboxIds, cancellationToken);
        }

        await using (var delete = new NpgsqlCommand("delete from job_events.outbox where id = any($1)", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = outboxIds });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        state.CountRelayed(claimed.Count);
        return claimed.Count;
    }

    private async Task<List<OutboxRow>> ClaimAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "select id, event_id, workspace_id, job_id, seq from job_events.outbox order by id limit $1 for update",
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = options.BatchSize });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutboxRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new OutboxRow(reader.GetInt64(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetInt64(4)));
        }

        return rows;
    }

    private async Task UpdateStatsAsync(bool force, CancellationToken cancellationToken)
    {
        if (!force && DateTime.UtcNow - statsTakenAt < StatsInterval)
        {
            return;
        }

        statsTakenAt = DateTime.UtcNow;
        await using var command = dataSource.CreateCommand(
            "select count(*), coalesce(extract(epoch from now() - min(created_at)), 0) from job_events.outbox");
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        state.Backlog = reader.GetInt64(0);
        state.OldestAge = TimeSpan.FromSeconds(Math.Max(0, Convert.ToDouble(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"select pg_try_advisory_lock({LockKey})", connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private void Remember(Exception ex)
    {
        state.LastError = ex.Message;
        state.LastErrorAt = DateTime.UtcNow;
    }

    private TimeSpan Next(TimeSpan backoff) => TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.MaxBackoff.Ticks));

    private static async Task DelayAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: the caller's loop ends on the token.
        }
    }

    private sealed record OutboxRow(long Id, Guid EventId, Guid WorkspaceId, Guid JobId, long Seq);
}
