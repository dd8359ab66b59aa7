using JobTrail.BuildingBlocks.Observability;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobEvents.Delivery;
using Microsoft.Extensions.Hosting;
using StackExchange.Redis;

namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>
/// Moves committed events from the outbox to Valkey: each job's stream (XADD, capped near 1000) and
/// its live channel (PUBLISH), signed (<see cref="DeliveryIntegrity"/>), in one script per job and
/// batch. The outbox is sharded by job into <see cref="RelayOptions.Partitions"/> partitions, each relayed
/// by the one live instance that holds its advisory lock (<see cref="RelayPartitions"/>: every instance
/// takes its fair share and gives up the rest). It wakes when this instance's group writer commits or
/// another instance NOTIFYs, and polls as a fallback. A
/// batch of its partitions' rows is claimed FOR UPDATE, sent in outbox order (per job that is seq order), then deleted and
/// committed. If anything fails before the commit the rows stay and are sent again; the script skips
/// ids the stream already has, so a re-send neither duplicates the stream nor republishes. While
/// Valkey is down the relay backs off and the outbox keeps everything; a row that fails for a reason
/// of its own is retried, then parked, without holding up other jobs.
/// </summary>
internal sealed class JobEventRelay(
    NpgsqlDataSource dataSource,
    DatabaseOptions database,
    IValkeyClient valkey,
    DeliveryIntegrity integrity,
    RelayOptions options,
    RelayState state,
    RelayWakeup wakeup,
    CommittedEvents committed,
    DatabaseAvailability availability,
    IServiceProvider services,
    ILogger<JobEventRelay> logger) : BackgroundService
{
    private static readonly TimeSpan StatsInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DrainedStatsInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ListenerWait = TimeSpan.FromMilliseconds(500);
    private DateTime statsTakenAt = DateTime.MinValue;

    // How many outbox rows the next claim asks for: a row is one append, a single event or a whole batch, and
    // a relay batch is BatchSize events. Set from the events per row of the last claim, so that a backlog of
    // batches does not lock a thousand rows to send ten of them.
    private int claimRows;
    private Task statsRefresh = Task.CompletedTask;
    private DateTime? activeSince;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Enabled)
        {
            return;
        }

        try
        {
            await RelayUntilStoppedAsync(stoppingToken);
        }
        finally
        {
            // A refresh of the figures still running ends with the token; it never throws.
            await statsRefresh;
        }
    }

    private async Task RelayUntilStoppedAsync(CancellationToken stoppingToken)
    {
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
        // A connection of its own, never pooled: it holds the session advisory locks (membership and
        // partitions), and closing it (on any error) must end the session so that they are released at once.
        var unpooled = new NpgsqlConnectionStringBuilder(database.ServiceConnectionString) { Pooling = false };
        await using var control = new NpgsqlConnection(unpooled.ConnectionString);
        await control.OpenAsync(stoppingToken);
        state.DatabaseUnreachableSince = null;
        availability.ReportReachable("the event relay");
        var partitions = new RelayPartitions(control, options.Partitions, logger);
        await partitions.JoinAsync(stoppingToken);
        activeSince = DateTime.UtcNow;
        using var listening = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var listener = ListenAsync(listening.Token);
        try
        {
            await RelayWhileConnectedAsync(control, partitions, stoppingToken);
        }
        finally
        {
            state.RelaysEveryPartition = false;
            state.IsActive = false;
            state.Partitions = [];
            await listening.CancelAsync();
            await listener;
        }
    }

    private async Task RelayWhileConnectedAsync(NpgsqlConnection control, RelayPartitions partitions, CancellationToken stoppingToken)
    {
        var backoff = options.MinBackoff;
        var rebalanceDue = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            if (DateTime.UtcNow >= rebalanceDue)
            {
                // Between batches only: a partition is given up after its last batch committed. Until the relay knows
                // what it holds again, the group writers notify other instances as if it held only some.
                state.RelaysEveryPartition = false;
                await partitions.RebalanceAsync(stoppingToken);
                rebalanceDue = DateTime.UtcNow + options.StandbyPollInterval;
                if (partitions.Conflict is { } conflict)
                {
                    state.RecordError(conflict);
                }

                state.Partitions = partitions.Held;
                state.IsActive = partitions.Held.Count > 0;
                state.RelaysEveryPartition = partitions.Held.Count == options.Partitions;
            }

            if (partitions.Held.Count == 0)
            {
                // Another instance relays every partition; readiness still reports the outbox.
                await UpdateStatsAsync(force: false, stoppingToken);
                await DelayAsync(Until(rebalanceDue), stoppingToken);
                continue;
            }

            int relayed;
            bool more;
            try
            {
                (relayed, more) = await RelayBatchAsync(control, partitions.Held, stoppingToken);
                backoff = options.MinBackoff;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException or ValkeyUnavailableException || ex.InnerException is RedisException)
            {
                // Warned once per run of failures (a batch that goes through clears the error), not per retry.
                var level = state.LastError is null ? LogLevel.Warning : LogLevel.Debug;
                Remember(ex);
                logger.Log(level, "Valkey unavailable, the outbox keeps the events; retrying in {Backoff}: {Error}", backoff, ex.Message);
                await UpdateStatsAsync(force: true, stoppingToken);
                await DelayAsync(backoff, stoppingToken);
                backoff = Next(backoff);
                continue;
            }

            // A short claim after a reported backlog of a batch or more: report the drain now rather than up to a
            // second later. A smaller backlog is what a steady load always has in flight; it waits for the next second.
            await UpdateStatsAsync(force: !more && state.Backlog >= options.BatchSize && DateTime.UtcNow - statsTakenAt > DrainedStatsInterval, stoppingToken);
            if (!more)
            {
                // Sleep until a commit wakes it (this instance's writer, or another's NOTIFY), the poll
                // interval passes, or it is time to look at the partitions again.
                var wait = Until(rebalanceDue);
                await wakeup.WaitAsync(wait < options.PollInterval ? wait : options.PollInterval, stoppingToken);
            }
        }
    }

    private static TimeSpan Until(DateTime due)
    {
        var left = due - DateTime.UtcNow;
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>
    /// Turns other instances' NOTIFYs into wakes, on a connection of its own so that the relay's
    /// session is never shared; if it fails, the relay still polls, and it listens again after a pause.
    /// </summary>
    private async Task ListenAsync(CancellationToken cancellationToken)
    {
        var unpooled = new NpgsqlConnectionStringBuilder(database.ServiceConnectionString) { Pooling = false };
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(unpooled.ConnectionString);
                await connection.OpenAsync(cancellationToken);
                connection.Notification += (_, _) => wakeup.Signal();
                await using (var listen = new NpgsqlCommand($"listen {EventLog.Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(cancellationToken);
                }

                // A timed wait, never a cancelled one: the token is checked between waits.
                while (!cancellationToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(ListenerWait, CancellationToken.None);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                logger.LogDebug("The relay's listener lost its connection; polling until it listens again: {Error}", ex.Message);
                await DelayAsync(options.StandbyPollInterval, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Relays one batch on the session that holds the leadership lock: if that session has died, the
    /// batch fails with it, so a relay that lost the lock can never run beside the new leader.
    /// Each job's rows go to Valkey in one script, in seq order, stopping at the first error. Valkey's
    /// own trouble (unreachable, timing out, a server-wide error reply) fails the whole batch, which is
    /// tried again after a back-off. An error of one job's key fails only that job's first undelivered
    /// row: its attempt is counted, it waits a growing delay, and after <see cref="RelayOptions.MaxAttempts"/>
    /// it is parked. The job's later rows wait behind it (the claim skips them); every other job's rows
    /// are delivered and deleted as usual. Returns how many events it claimed, and whether more may be waiting
    /// (the claim came back full, or rows were left for the next batch).
    /// </summary>
    internal async Task<(int Events, bool More)> RelayBatchAsync(NpgsqlConnection connection, IReadOnlyList<int> partitions, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var limit = claimRows > 0 ? claimRows : Math.Max(1, options.BatchSize);
        var claimed = await ClaimAsync(connection, transaction, partitions, limit, cancellationToken);
        if (claimed.Count == 0)
        {
            await transaction.CommitAsync(cancellationToken);
            return (0, false);
        }

        var more = claimed.Count >= limit;
        var claimedEvents = KeepBatch(claimed, ref more);

        // What this instance's writer just committed is sent as it came back from its INSERT; the rest is read.
        // Known events come with their JSON, shared with the writer's answer and live streams (StoredEvents).
        var events = new Dictionary<(Guid Job, long Seq), (EventRecord Event, string? Json)>(claimed.Sum(r => r.Count));
        var unread = new List<OutboxRow>();
        foreach (var row in claimed)
        {
            if (committed.TryTake(row.EventId, out var known) && Matches(row, known))
            {
                for (var i = 0; i < known.Count; i++)
                {
                    events[(known[i].JobId, known[i].Seq)] = (known[i], StoredEvents.JsonOf(known, i));
                }
            }
            else
            {
                unread.Add(row);
            }
        }

        if (unread.Count > 0)
        {
            foreach (var stored in await ReadEventsAsync(connection, transaction, unread, cancellationToken))
            {
                events[(stored.JobId, stored.Seq)] = (stored, null);
            }
        }

        // One script per job, issued in outbox order on one multiplexed connection.
        var delivered = new List<long>(claimed.Count);
        var deliveredEvents = 0;
        var sends = new List<Task<JobSend>>();
        foreach (var job in claimed.GroupBy(r => r.JobId))
        {
            var rows = new List<OutboxRow>();
            var ends = new List<int>();
            var entries = new List<StreamAppend>();
            foreach (var row in job)
            {
                var missing = 0;
                for (var seq = row.Seq; seq <= row.LastSeq; seq++)
                {
                    if (!events.TryGetValue((row.JobId, seq), out var found))
                    {
                        missing++;
                        continue;
                    }

                    var (stored, json) = (found.Event, found.Json ?? JobEventResponse.Render(found.Event));
                    entries.Add(new StreamAppend(
                        seq, json, integrity.Sign(stored.JobId, stored.WorkspaceId, stored.Seq, json), JobEventTypes.Terminal.Contains(stored.Type))
                    {
                        TraceParent = row.TraceParent,
                    });
                }

                if (missing > 0)
                {
                    logger.LogError(
                        "Outbox row {OutboxId} of job {JobId} points at {Missing} of seq {Seq}–{LastSeq} that do not exist; relaying the rest",
                        row.Id, row.JobId, missing, row.Seq, row.LastSeq);
                }

                if (missing == row.Count && rows.Count == 0)
                {
                    // Nothing to send and nothing before it to wait for: the row is done.
                    delivered.Add(row.Id);
                    continue;
                }

                rows.Add(row);
                ends.Add(entries.Count);
            }

            if (rows.Count > 0)
            {
                sends.Add(SendAsync(job.Key, rows, ends, entries));
            }
        }

        var results = await Task.WhenAll(sends);
        if (results.FirstOrDefault(r => r.Unavailable is not null) is { Unavailable: { } unavailable })
        {
            throw unavailable;
        }

        var failures = new List<(OutboxRow Row, string Error)>();
        foreach (var result in results)
        {
            // A row is delivered when every entry it sent was handled; the row holding the first unhandled
            // entry failed (its earlier entries are in the stream, and a retry re-sends them as no-ops).
            var done = 0;
            while (done < result.Rows.Count && result.Ends[done] <= result.Handled)
            {
                done++;
            }

            for (var k = 0; k < done; k++)
            {
                delivered.Add(result.Rows[k].Id);
                deliveredEvents += result.Ends[k] - (k > 0 ? result.Ends[k - 1] : 0);
            }

            if (result.Error is { } error && done < result.Rows.Count)
            {
                failures.Add((result.Rows[done], error));
            }
        }

        foreach (var hook in services.GetServices<IRelayCommitHook>())
        {
            await hook.BeforeCommitAsync(delivered, cancellationToken);
        }

        if (failures.Count == 0)
        {
            // The delete and the COMMIT in one round trip: after an error PostgreSQL skips to the batch's end, so
            // the COMMIT runs only if the delete did; Npgsql sees the server idle after it and ends the transaction.
            await using (var finish = new NpgsqlBatch(connection, transaction))
            {
                finish.BatchCommands.Add(Sql.Statement("delete from job_events.outbox where id = any($1)", delivered.ToArray()));
                finish.BatchCommands.Add(new NpgsqlBatchCommand("commit"));
                await finish.ExecuteNonQueryAsync(cancellationToken);
            }

            state.CountRelayed(deliveredEvents);
            state.ClearError();
            return (claimedEvents, more);
        }

        await using (var delete = new NpgsqlCommand("delete from job_events.outbox where id = any($1)", connection, transaction))
        {
            delete.Parameters.Add(new NpgsqlParameter { Value = delivered.ToArray() });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }

        var recorded = await RecordFailuresAsync(connection, transaction, failures, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        state.CountRelayed(deliveredEvents);

        state.RecordError($"An outbox row failed for a reason of its own: {failures[^1].Error}");
        foreach (var (row, error) in failures)
        {
            var (attempts, parked) = recorded[row.Id];
            if (parked)
            {
                logger.LogWarning(
                    "Outbox row {OutboxId} of job {JobId} (seq {Seq}–{LastSeq}) failed {Attempts} times and is parked; the job's later events wait behind it until it is re-driven (docs/delivery.md): {Error}",
                    row.Id, row.JobId, row.Seq, row.LastSeq, attempts, error);
            }
            else
            {
                logger.LogInformation(
                    "Outbox row {OutboxId} of job {JobId} (seq {Seq}–{LastSeq}) failed (attempt {Attempts} of {MaxAttempts}); it is retried after a delay: {Error}",
                    row.Id, row.JobId, row.Seq, row.LastSeq, attempts, options.MaxAttempts, error);
            }
        }

        return (claimedEvents, more);
    }

    /// <summary>
    /// Keeps the claimed rows, in outbox order, up to <see cref="RelayOptions.BatchSize"/> events (at least one row),
    /// and returns how many events they hold. The rows left out are a suffix in outbox order, so every job keeps
    /// its earlier rows: they stay in the outbox, unlocked at the COMMIT, for the next batch. Sizes the next claim.
    /// </summary>
    private int KeepBatch(List<OutboxRow> claimed, ref bool more)
    {
        var batchSize = Math.Max(1, options.BatchSize);
        var kept = 0;
        var events = 0;
        var total = 0L;
        var full = false;
        foreach (var row in claimed)
        {
            total += row.Count;
            if (full || (kept > 0 && events + row.Count > batchSize))
            {
                // Once one row is left out, every later one is too: the kept rows are a prefix.
                full = true;
                continue;
            }

            events += row.Count;
            kept++;
        }

        var perRow = Math.Max(1, total / claimed.Count);
        claimRows = (int)Math.Clamp(batchSize / perRow, 1, batchSize);
        if (kept < claimed.Count)
        {
            claimed.RemoveRange(kept, claimed.Count - kept);
            more = true;
        }

        return events;
    }

    /// <summary>Sends one job's rows; never throws for Valkey's errors, which the result carries.</summary>
    private async Task<JobSend> SendAsync(Guid jobId, List<OutboxRow> rows, List<int> ends, List<StreamAppend> entries)
    {
        // The span continues the first emit's trace and links every emit it carries.
        using var span = RelaySpan(rows);
        try
        {
            var outcome = await valkey.AppendAndPublishAsync(
                ValkeyKeys.Stream(jobId), ValkeyKeys.Channel(jobId), entries, options.StreamMaxLength, options.TerminalStreamTtl);
            return outcome.Error is { } error && ValkeyErrors.IsServerWide(error)
                ? new JobSend(rows, ends, 0, null, new ValkeyUnavailableException(error))
                : new JobSend(rows, ends, outcome.Handled, outcome.Error, null);
        }
        catch (RedisServerException ex) when (!ValkeyErrors.IsServerWide(ex.Message))
        {
            // The script itself failed on this job's key: its first row is the one to blame.
            return new JobSend(rows, ends, 0, ex.Message, null);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            return new JobSend(rows, ends, 0, null, ex);
        }
    }

    /// <summary>
    /// Counts an attempt on each failed row and sets when it may be tried again (MinBackoff doubling
    /// per attempt, at most MaxBackoff), or parks it at MaxAttempts. Returns each row's attempts and
    /// whether it is now parked.
    /// </summary>
    private async Task<Dictionary<long, (int Attempts, bool Parked)>> RecordFailuresAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<(OutboxRow Row, string Error)> failures, CancellationToken cancellationToken)
    {
        var recorded = new Dictionary<long, (int, bool)>(failures.Count);
        if (failures.Count == 0)
        {
            return recorded;
        }

        await using var update = new NpgsqlCommand(
            """
            update job_events.outbox o
            set attempts = o.attempts + 1,
                last_error = f.error,
                parked_at = case when o.attempts + 1 >= $3 then now() end,
                retry_at = case when o.attempts + 1 >= $3 then null else now() + least($4 * power(2, least(o.attempts, 30)), $5) end
            from unnest($1::bigint[], $2::text[]) as f(id, error)
            where o.id = f.id
            returning o.id, o.attempts, o.parked_at is not null
            """,
            connection, transaction);
        update.Parameters.Add(new NpgsqlParameter { Value = failures.Select(f => f.Row.Id).ToArray() });
        update.Parameters.Add(new NpgsqlParameter { Value = failures.Select(f => f.Error.Length > 1000 ? f.Error[..1000] : f.Error).ToArray() });
        update.Parameters.Add(new NpgsqlParameter { Value = Math.Max(1, options.MaxAttempts) });
        update.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Interval, Value = options.MinBackoff });
        update.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Interval, Value = options.MaxBackoff });
        await using var reader = await update.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            recorded[reader.GetInt64(0)] = (reader.GetInt32(1), reader.GetBoolean(2));
        }

        return recorded;
    }

    /// <summary>
    /// The outbox is a queue, so its statistics always describe some other moment (empty just after a drain,
    /// thousands of rows under a burst), and a prepared statement keeps the plan it was given. Planned for an
    /// empty outbox, the claim read the whole table for each row it looked at (an anti-join by sequential
    /// scan) and sorted what was left: quadratic in the backlog, so a relay that fell behind fell further
    /// behind (measured: 29,539 rows, 15.7 s old, after 20 s of emits into one job). Sent first in the relay's
    /// transaction, this makes the rest of it plan with indexes only: the claim walks the primary key in
    /// order and stops at its limit, the check for a blocked job probes the partial index of held rows, and
    /// the delete finds its rows by id. Local to the transaction; a DO block returns no result set.
    /// </summary>
    internal const string QueuePlans =
        "do $$begin perform set_config('enable_seqscan', 'off', true); perform set_config('enable_sort', 'off', true); end$$";

    /// <summary>
    /// The relay's COMMIT does not wait for its WAL flush. All its transaction changes is the outbox (rows
    /// delivered deleted, failures counted): if a crash loses that commit, the rows come back and are sent
    /// again, and the Valkey script skips every id the stream already has (an XADD at or below its last id is
    /// refused), so nothing is duplicated or republished. The events themselves were made durable by the
    /// writer's COMMIT. One WAL flush fewer per relay batch, and the relay's next claim no longer waits for it.
    /// </summary>
    internal const string NoFlushWait = "set local synchronous_commit = off";

    /// <summary>The claim (see <see cref="ClaimAsync"/>) behind <see cref="NoFlushWait"/> and <see cref="QueuePlans"/>; <paramref name="partitions"/> null for all.</summary>
    internal static NpgsqlBatch ClaimBatch(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, int batchSize, int partitionCount, IReadOnlyList<int>? partitions)
    {
        var claim = Sql.Statement(
            $"""
            select o.id, o.event_id, o.workspace_id, o.job_id, o.seq, coalesce(o.last_seq, o.seq), o.trace_parent, o.created_at
            from job_events.outbox o
            where o.parked_at is null
              {(partitions is null ? string.Empty : "and job_events.relay_partition(o.job_id, $2) = any($3)")}
              and not exists (
                  select from job_events.outbox b
                  where b.job_id = o.job_id
                    and (b.parked_at is not null or b.retry_at > now()))
            order by o.id
            limit $1
            for update of o
            """,
            partitions is null ? [batchSize] : [batchSize, partitionCount, partitions.ToArray()]);
        return new NpgsqlBatch(connection, transaction)
        {
            BatchCommands = { new NpgsqlBatchCommand(NoFlushWait), new NpgsqlBatchCommand(QueuePlans), claim },
        };
    }

    /// <summary>
    /// The oldest rows the relay may send now, in outbox order, of the partitions this instance holds:
    /// not parked, and of a job that has no parked row and no row waiting for its retry, so that no
    /// row overtakes an earlier one of its job. A job's rows are all in one partition, so they are
    /// claimed by one instance at a time, still in outbox (= seq) order.
    /// </summary>
    private async Task<List<OutboxRow>> ClaimAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<int> partitions, int limit, CancellationToken cancellationToken)
    {
        await using var command = ClaimBatch(
            connection, transaction, limit, options.Partitions, partitions.Count >= options.Partitions ? null : partitions);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<OutboxRow>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new OutboxRow(reader.GetInt64(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetInt64(4), reader.GetInt64(5))
            {
                TraceParent = reader.IsDBNull(6) ? null : reader.GetString(6),
                CreatedAt = reader.GetFieldValue<DateTime>(7),
            });
        }

        return rows;
    }

    /// <summary>
    /// Starts a refresh of the backlog figures when one is due and none is running, and returns at once: the count
    /// reads the whole outbox (7 ms a call measured under emit load, dead rows included), and the relay's next claim
    /// must not wait behind it. The figures are for metrics and readiness; the relay itself never reads them.
    /// </summary>
    private Task UpdateStatsAsync(bool force, CancellationToken cancellationToken)
    {
        if ((!force && DateTime.UtcNow - statsTakenAt < StatsInterval) || !statsRefresh.IsCompleted)
        {
            return Task.CompletedTask;
        }

        statsTakenAt = DateTime.UtcNow;
        statsRefresh = RefreshStatsAsync(cancellationToken);
        return Task.CompletedTask;
    }

    private async Task RefreshStatsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ReadStatsAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or ObjectDisposedException)
        {
            // The figures stay as last read; the relay's own statements report an unreachable database.
            logger.LogDebug("The relay's backlog figures could not be read: {Error}", ex.Message);
        }
        catch (Exception ex)
        {
            logger.LogWarning(ex, "The relay's backlog figures could not be read");
        }
    }

    private async Task ReadStatsAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        // Parked rows, and rows held behind one, are reported apart: they wait for an operator, not the relay.
        await using var command = dataSource.CreateCommand(
            """
            with blocked as materialized (
                select distinct job_id from job_events.outbox where parked_at is not null
            )
            select coalesce(sum(events) filter (where not held), 0)::bigint,
                   coalesce(extract(epoch from now() - min(created_at) filter (where not held)), 0),
                   coalesce(sum(events) filter (where parked_at is not null), 0)::bigint,
                   coalesce(sum(events) filter (where held and parked_at is null), 0)::bigint
            from (
                -- The parked jobs are read once (the partial index on parked rows), not probed per row.
                select o.created_at, o.parked_at, b.job_id is not null as held, coalesce(o.last_seq, o.seq) - o.seq + 1 as events
                from job_events.outbox o left join blocked b on b.job_id = o.job_id
            ) s
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        state.Backlog = reader.GetInt64(0);
        state.OldestAge = TimeSpan.FromSeconds(Math.Max(0, Convert.ToDouble(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture)));
        state.Parked = reader.GetInt64(2);
        state.Held = reader.GetInt64(3);
    }

    private void Remember(Exception ex) => state.RecordError(ex.Message);

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

    /// <summary>
    /// The claimed rows' events (each row's range of seqs of its job), each workspace's read under that
    /// workspace's row-level security setting (the relay runs outside any request); all workspaces in one round trip.
    /// </summary>
    private static async Task<List<EventRecord>> ReadEventsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<OutboxRow> claimed, CancellationToken cancellationToken)
    {
        // An outbox row's created_at is its event's recorded_at (one append writes both), so the bounds
        // prune the read to the partition that holds the rows; by id alone it probed every month's index.
        var events = await ReadEventsAsync(connection, transaction, claimed, bounded: true, cancellationToken);
        if (events.Count < claimed.Sum(r => r.Count))
        {
            // A row whose time does not match its events' (none is written so): its range looked up without it.
            var found = events.Select(e => (e.JobId, e.Seq)).ToHashSet();
            var rest = claimed.Where(r => Enumerable.Range(0, r.Count).Any(i => !found.Contains((r.JobId, r.Seq + i)))).ToList();
            events.AddRange((await ReadEventsAsync(connection, transaction, rest, bounded: false, cancellationToken)).Where(e => !found.Contains((e.JobId, e.Seq))));
        }

        return events;
    }

    private static async Task<List<EventRecord>> ReadEventsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, List<OutboxRow> claimed, bool bounded, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        var workspaces = 0;
        foreach (var group in claimed.GroupBy(r => r.WorkspaceId))
        {
            batch.BatchCommands.Add(WorkspaceSetting.Command(group.Key));
            var jobs = group.Select(r => r.JobId).ToArray();
            var firsts = group.Select(r => r.Seq).ToArray();
            var lasts = group.Select(r => r.LastSeq).ToArray();
            batch.BatchCommands.Add(bounded
                ? EventRows.Command(
                    $"select {EventRows.ColumnsOf("e")} from job_events.events e join unnest($2::uuid[], $3::bigint[], $4::bigint[]) as r(job_id, first_seq, last_seq) on e.job_id = r.job_id and e.seq between r.first_seq and r.last_seq where e.workspace_id = $1 and e.recorded_at between $5 and $6",
                    group.Key, jobs, firsts, lasts, group.Min(r => r.CreatedAt), group.Max(r => r.CreatedAt))
                : EventRows.Command(
                    $"select {EventRows.ColumnsOf("e")} from job_events.events e join unnest($2::uuid[], $3::bigint[], $4::bigint[]) as r(job_id, first_seq, last_seq) on e.job_id = r.job_id and e.seq between r.first_seq and r.last_seq where e.workspace_id = $1",
                    group.Key, jobs, firsts, lasts));
            workspaces++;
        }

        var events = new List<EventRecord>(claimed.Count);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        for (var i = 0; i < workspaces; i++)
        {
            // Past the setting's result to the workspace's events, then on to the next setting.
            await reader.NextResultAsync(cancellationToken);
            events.AddRange(await EventRows.ReadAllAsync(reader, cancellationToken));
            await reader.NextResultAsync(cancellationToken);
        }

        return events;
    }

    private static System.Diagnostics.Activity? RelaySpan(List<OutboxRow> rows)
    {
        var links = rows.Select(r => Telemetry.ParseTraceParent(r.TraceParent)).Where(c => c != default).Distinct().Select(c => new System.Diagnostics.ActivityLink(c)).ToList();
        var span = Telemetry.Source.StartActivity("relay.deliver", System.Diagnostics.ActivityKind.Producer, links.Count > 0 ? links[0].Context : default, links: links);
        span?.SetTag("jobtrail.relay.events", rows.Sum(r => r.Count));
        return span;
    }

    /// <summary>One append's outbox row: the seqs <paramref name="Seq"/>..<paramref name="LastSeq"/> of one job, <paramref name="EventId"/> the first.</summary>
    private sealed record OutboxRow(long Id, Guid EventId, Guid WorkspaceId, Guid JobId, long Seq, long LastSeq)
    {
        /// <summary>How many events the row stands for.</summary>
        public int Count => checked((int)(LastSeq - Seq + 1));

        /// <summary>The emitting request's W3C traceparent, when it had one.</summary>
        public string? TraceParent { get; init; }

        /// <summary>The event's <c>recorded_at</c> (the append writes both from one value): the partition it lives in.</summary>
        public DateTime CreatedAt { get; init; }
    }

    /// <summary>What one job's send did: rows handled, the error of the next row, or Valkey's own trouble.</summary>
    /// <remarks><paramref name="Ends"/>: for each row, the index just past its last entry; <paramref name="Handled"/> counts entries.</remarks>
    private sealed record JobSend(List<OutboxRow> Rows, List<int> Ends, int Handled, string? Error, Exception? Unavailable);

    /// <summary>Whether what the writer handed over is the row's append: same workspace, job and seqs, in order.</summary>
    private static bool Matches(OutboxRow row, IReadOnlyList<EventRecord> known)
    {
        if (known.Count != row.Count)
        {
            return false;
        }

        for (var i = 0; i < known.Count; i++)
        {
            if (known[i].WorkspaceId != row.WorkspaceId || known[i].JobId != row.JobId || known[i].Seq != row.Seq + i)
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Valkey answered with an error about itself (loading, out of memory, refusing auth…), not about a key.</summary>
internal sealed class ValkeyUnavailableException(string message) : Exception(message);
