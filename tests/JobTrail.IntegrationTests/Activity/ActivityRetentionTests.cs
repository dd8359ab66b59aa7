using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.Activity.Retention;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobTrail.IntegrationTests.Activity;

/// <summary>Retention of 31 days, five months of partitions ahead, and a job that does not tick during the tests.</summary>
public sealed class ActivityRetentionFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Activity:RetentionDays"] = "31",
        ["JobTrail:Activity:PartitionsAhead"] = "5",
        ["JobTrail:Activity:PartitionMaintenanceInterval"] = "1.00:00:00",
    },
    configureServices: null)
{
    internal ActivityPartitionMaintenance Maintenance => App.Services.GetRequiredService<ActivityPartitionMaintenance>();

    public async Task<List<PartitionBounds>> PartitionsAsync()
    {
        await using var connection = new NpgsqlConnection(App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            select c.relname,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'FROM \(''([^'']+)''\)'))[1]::timestamptz,
                   (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz
            from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'activity.activity_logs'::regclass
            order by 2
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var partitions = new List<PartitionBounds>();
        while (await reader.ReadAsync())
        {
            partitions.Add(new PartitionBounds(reader.GetString(0), reader.GetDateTime(1), reader.GetDateTime(2)));
        }

        return partitions;
    }

    public async Task CreateMonthsAsync(int year, IEnumerable<int> months)
    {
        foreach (var month in months)
        {
            await ScalarAsOwnerAsync<string>($"select activity.ensure_partition('activity_logs', '{year:D4}-{month:D2}-01')");
        }
    }

    public static string NameOf(int year, int month) => $"activity_logs_{year:D4}_{month:D2}";
}

public sealed record PartitionBounds(string Name, DateTime From, DateTime To);

public sealed class ActivityRetentionTests(ActivityRetentionFixture fixture) : IClassFixture<ActivityRetentionFixture>
{
    [Fact]
    public async Task At_start_up_this_months_partition_and_the_configured_months_ahead_exist()
    {
        var now = DateTime.UtcNow;
        var names = (await fixture.PartitionsAsync()).Select(p => p.Name).ToHashSet();

        foreach (var ahead in Enumerable.Range(0, 6))
        {
            var month = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(ahead);
            Assert.Contains(ActivityRetentionFixture.NameOf(month.Year, month.Month), names);
        }
    }

    [Fact]
    public async Task Retention_drops_exactly_the_partitions_that_ended_before_the_cutoff_and_keeps_their_neighbours()
    {
        var tenant = await fixture.CreateTenantAsync();
        await fixture.CreateMonthsAsync(2001, Enumerable.Range(1, 6));
        await fixture.ScalarAsOwnerAsync<long>($"""
            insert into activity.activity_logs (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, occurred_at)
            select gen_random_uuid(), '{tenant.WorkspaceId}', 'user:old', 'auth.login', 'user', 'u-' || d, 'SUCCEEDED',
                   make_timestamptz(2001, m, d, 12, 0, 0, 'UTC')
            from generate_series(1, 6) as m, generate_series(1, 3) as d
            """, tenant.WorkspaceId.ToString());
        var now = new DateTime(2001, 5, 15, 12, 0, 0, DateTimeKind.Utc);
        var cutoff = now.AddDays(-31);
        var before = await fixture.PartitionsAsync();
        var expired = before.Where(p => p.To <= cutoff).Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([ActivityRetentionFixture.NameOf(2001, 1), ActivityRetentionFixture.NameOf(2001, 2), ActivityRetentionFixture.NameOf(2001, 3)], expired);

        var result = await fixture.Maintenance.RunOnceAsync(now);

        Assert.Equal(expired, result.Dropped.Order(StringComparer.Ordinal));
        Assert.Equal(Enumerable.Range(7, 4).Select(m => ActivityRetentionFixture.NameOf(2001, m)), result.Created.Order(StringComparer.Ordinal));
        var after = (await fixture.PartitionsAsync()).Select(p => p.Name).Order(StringComparer.Ordinal);
        Assert.Equal(before.Select(p => p.Name).Except(expired).Concat(result.Created).Order(StringComparer.Ordinal), after);

        var kept = await fixture.QueryAsServiceAsync(
            "select extract(month from occurred_at at time zone 'UTC')::int, count(*) from activity.activity_logs where actor_id = 'user:old' group by 1 order by 1",
            tenant.WorkspaceId.ToString(), r => (r.GetInt32(0), r.GetInt64(1)));
        Assert.Equal([(4, 3L), (5, 3L), (6, 3L)], kept);

        var again = await fixture.Maintenance.RunOnceAsync(now);
        Assert.Empty(again.Created);
        Assert.Empty(again.Dropped);
    }

    [Fact]
    public async Task A_partition_ending_exactly_at_the_cutoff_is_dropped_and_the_next_one_is_kept()
    {
        await fixture.CreateMonthsAsync(2002, Enumerable.Range(1, 4));
        // Retention is 31 days: the cutoff falls exactly on 2002-04-01T00:00Z, the end of March's partition.
        var now = new DateTime(2002, 5, 2, 0, 0, 0, DateTimeKind.Utc);
        var expired = (await fixture.PartitionsAsync()).Where(p => p.To <= now.AddDays(-31)).Select(p => p.Name).Order(StringComparer.Ordinal).ToList();

        var result = await fixture.Maintenance.RunOnceAsync(now);

        Assert.Equal(expired, result.Dropped.Order(StringComparer.Ordinal));
        Assert.Contains(ActivityRetentionFixture.NameOf(2002, 3), result.Dropped);
        Assert.DoesNotContain(ActivityRetentionFixture.NameOf(2002, 4), result.Dropped);
        Assert.Contains(ActivityRetentionFixture.NameOf(2002, 4), (await fixture.PartitionsAsync()).Select(p => p.Name));
    }

    [Fact]
    public async Task Partitions_cover_whole_utc_months()
    {
        var partitions = await fixture.PartitionsAsync();

        Assert.All(partitions, p =>
        {
            Assert.Equal((1, 0, DateTimeKind.Utc), (p.From.Day, p.From.TimeOfDay.Ticks, p.From.Kind));
            Assert.Equal(p.From.AddMonths(1), p.To);
            Assert.Equal(ActivityRetentionFixture.NameOf(p.From.Year, p.From.Month), p.Name);
        });
    }

    [Fact]
    public async Task One_partition_function_creates_chain_partitions_as_it_does_row_partitions_and_refuses_other_tables()
    {
        var created = await fixture.ScalarAsOwnerAsync<string>("select activity.ensure_partition('chain', '2031-02-01')");
        var again = await fixture.ScalarAsOwnerAsync<string>("select activity.ensure_partition('chain', '2031-02-17')");
        var guarded = await fixture.ScalarAsOwnerAsync<bool>(
            """
            select c.relrowsecurity and c.relforcerowsecurity
                   and exists (select 1 from pg_trigger t where t.tgrelid = c.oid and t.tgname = 'chain_no_truncate')
            from pg_class c where c.oid = 'activity.chain_2031_02'::regclass
            """);
        var perTableCopies = await fixture.ScalarAsOwnerAsync<long>(
            "select count(*) from pg_proc where pronamespace = 'activity'::regnamespace and proname in ('ensure_chain_partition', 'drop_chain_partitions_ending_by')");
        var refused = await Assert.ThrowsAsync<PostgresException>(() =>
            fixture.ScalarAsOwnerAsync<string>("select activity.ensure_partition('workspaces', '2031-02-01')"));

        Assert.Equal("chain_2031_02", created);
        Assert.Null(again);
        Assert.True(guarded);
        Assert.Equal(0, perTableCopies);
        Assert.Equal("22023", refused.SqlState);
    }
}

/// <summary>The partition job ticking every second, two months ahead.</summary>
public sealed class ActivityPartitionJobFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Activity:PartitionsAhead"] = "2",
        ["JobTrail:Activity:PartitionMaintenanceInterval"] = "00:00:01",
    },
    configureServices: null);

public sealed class ActivityPartitionJobTests(ActivityPartitionJobFixture fixture) : IClassFixture<ActivityPartitionJobFixture>
{
    [Fact]
    public async Task The_job_recreates_a_missing_upcoming_partition_on_its_next_run()
    {
        var now = DateTime.UtcNow;
        var upcoming = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(2);
        var name = ActivityRetentionFixture.NameOf(upcoming.Year, upcoming.Month);
        var exists = $"select to_regclass('activity.{name}') is not null";
        Assert.True(await fixture.ScalarAsOwnerAsync<bool>(exists));

        await fixture.ScalarAsOwnerAsync<int>($"drop table activity.{name}");

        await Eventually.GetAsync(() => fixture.ScalarAsOwnerAsync<bool>(exists), recreated => recreated, TimeSpan.FromSeconds(20), $"{name} to be recreated");
    }
}
