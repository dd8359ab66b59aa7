
namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>
/// Which outbox partitions this instance relays, kept with session advisory locks on the relay's own
/// connection: one "member" lock per live relay instance (key <see cref="MemberKey"/>, a random id) and
/// one lock per partition (key <see cref="PartitionKey"/>, the partition). PostgreSQL releases all of
/// them when the session ends, so a dead instance's partitions are free as soon as its connection is
/// gone. Each instance aims at its fair share, ceil(partitions / live members): it gives up what it
/// holds beyond that and takes free partitions up to it. Not thread-safe: the relay loop owns it.
/// </summary>
internal sealed class RelayPartitions(NpgsqlConnection control, int total, ILogger logger)
{
    /// <summary>"JTRM": the advisory lock class of relay members.</summary>
    public const int MemberKey = 0x4A_54_52_4D;

    /// <summary>"JTRP": the advisory lock class of outbox partitions.</summary>
    public const int PartitionKey = 0x4A_54_52_50;

    /// <summary>"JTRN": a shared lock per member whose second key is its partition count.</summary>
    public const int CountKey = 0x4A_54_52_4E;

    private readonly SortedSet<int> held = [];

    /// <summary>
    /// Set while live instances disagree on the partition count: a job would then map to different
    /// partitions on different instances, so this one relays nothing until they agree.
    /// </summary>
    public string? Conflict { get; private set; }

    /// <summary>The partitions this instance holds, ascending.</summary>
    public IReadOnlyList<int> Held { get; private set; } = [];

    /// <summary>Announces this instance as a live relay (its member lock), so that the others make room.</summary>
    public async Task JoinAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var id = Random.Shared.Next(1, int.MaxValue);
            if (await TryLockAsync(MemberKey, id, cancellationToken))
            {
                await using var count = new NpgsqlCommand("select pg_advisory_lock_shared($1, $2)", control);
                count.Parameters.Add(new NpgsqlParameter { Value = CountKey });
                count.Parameters.Add(new NpgsqlParameter { Value = total });
                await count.ExecuteNonQueryAsync(cancellationToken);
                return;
            }
        }
    }

    /// <summary>Gives up partitions beyond the fair share, then takes free ones up to it.</summary>
    public async Task RebalanceAsync(CancellationToken cancellationToken)
    {
        var (members, taken, counts) = await ReadLocksAsync(cancellationToken);
        var others = counts.Where(c => c != total).ToArray();
        Conflict = others.Length == 0
            ? null
            : $"Live relay instances disagree on JobTrail__Relay__Partitions (this one {total}, others {string.Join(",", others)}); this instance relays nothing until they agree.";
        if (Conflict is not null && held.Count > 0)
        {
            logger.LogError("{Conflict}", Conflict);
        }

        var share = Conflict is not null ? 0 : (total + Math.Max(1, members) - 1) / Math.Max(1, members);
        var before = held.Count;
        while (held.Count > share)
        {
            // The highest first: predictable, and any choice keeps per-job order (released between batches).
            var partition = held.Max;
            await UnlockAsync(partition, cancellationToken);
            held.Remove(partition);
        }

        if (held.Count < share)
        {
            var free = Enumerable.Range(0, total).Where(p => !taken.Contains(p)).ToArray();
            // Instances that look at once start from different places, so they rarely try the same lock.
            Random.Shared.Shuffle(free);
            foreach (var partition in free)
            {
                if (held.Count >= share)
                {
                    break;
                }

                if (await TryLockAsync(PartitionKey, partition, cancellationToken))
                {
                    held.Add(partition);
                }
            }
        }

        if (held.Count != before)
        {
            logger.LogInformation(
                "Event relay holds {Held} of {Total} outbox partitions ({Members} live relay instances): {Partitions}",
                held.Count, total, members, string.Join(",", held));
        }

        Held = [.. held];
    }

    /// <summary>Live relay members, and the partitions any session of this database holds.</summary>
    private async Task<(int Members, HashSet<int> Taken, HashSet<int> Counts)> ReadLocksAsync(CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            select l.classid::bigint, l.objid::bigint
            from pg_locks l
            where l.locktype = 'advisory' and l.granted and l.objsubid = 2
              and l.database = (select oid from pg_database where datname = current_database())
              and l.classid::bigint in ($1, $2, $3)
            """,
            control);
        command.Parameters.Add(new NpgsqlParameter { Value = (long)MemberKey });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)PartitionKey });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)CountKey });
        var members = 0;
        var taken = new HashSet<int>();
        var counts = new HashSet<int>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            switch (reader.GetInt64(0))
            {
                case MemberKey:
                    members++;
                    break;
                case PartitionKey:
                    taken.Add((int)reader.GetInt64(1));
                    break;
                default:
                    counts.Add((int)reader.GetInt64(1));
                    break;
            }
        }

        return (members, taken, counts);
    }

    private async Task<bool> TryLockAsync(int key, int value, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select pg_try_advisory_lock($1, $2)", control);
        command.Parameters.Add(new NpgsqlParameter { Value = key });
        command.Parameters.Add(new NpgsqlParameter { Value = value });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private async Task UnlockAsync(int partition, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("select pg_advisory_unlock($1, $2)", control);
        command.Parameters.Add(new NpgsqlParameter { Value = PartitionKey });
        command.Parameters.Add(new NpgsqlParameter { Value = partition });
        await command.ExecuteScalarAsync(cancellationToken);
    }
}
