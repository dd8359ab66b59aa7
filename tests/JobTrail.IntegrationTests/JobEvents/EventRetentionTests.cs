using JobTrail.BuildingBlocks.Persistence;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.JobEvents.Retention;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>Event retention of 31 days and a partition job that does not tick during the tests.</summary>
public sealed class EventRetentionFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Events:RetentionDays"] = "31",
        ["JobTrail:Events:PartitionMaintenanceInterval"] = "1.00:00:00",
    },
    configureServices: null)
{
    internal EventPartitionMaintenance Maintenance => App.Services.GetRequiredService<EventPartitionMaintenance>();

    internal SqlMigrator Migrator => App.Services.GetRequiredService<SqlMigrator>();

    public async Task<List<string>> PartitionsAsync() =>
        await QueryAsServiceAsync(
            "select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'job_events.events'::regclass order by 1",
            null, r => r.GetString(0));

    public static string NameOf(int year, int month) => $"events_{year:D4}_{month:D2}";
}

public sealed class EventRetentionTests(EventRetentionFixture fixture) : IClassFixture<EventRetentionFixture>
{
    [Fact]
    public async Task Retention_drops_whole_event_partitions_that_ended_before_the_cutoff_and_nothing_newer()
    {
        var tenant = await fixture.CreateTenantAsync();
        foreach (var month in Enumerable.Range(1, 6))
        {
            await fixture.ScalarAsOwnerAsync<string>($"select job_events.ensure_partition('2001-{month:D2}-01')");
        }

        await fixture.ScalarAsOwnerAsync<long>($"""
            insert into job_events.events (id, workspace_id, job_id, seq, type, actor_id, correlation_id, occurred_at, recorded_at)
            select gen_random_uuid(), '{tenant.WorkspaceId}', '00000000-0000-0000-0000-000000002001', (m - 1) * 3 + d, 'step.output', 'user:old', 'c',
                   make_timestamptz(2001, m, d, 12, 0, 0, 'UTC'), make_timestamptz(2001, m, d, 12, 0, 0, 'UTC')
            from generate_series(1, 6) as m, generate_series(1, 3) as d
            """, tenant.WorkspaceId.ToString());

        // 31 days before 2001-05-15 is 2001-04-14: January to March ended before it, April did not.
        var result = await fixture.Maintenance.RunOnceAsync(new DateTime(2001, 5, 15, 12, 0, 0, DateTimeKind.Utc));

        Assert.Equal([EventRetentionFixture.NameOf(2001, 1), EventRetentionFixture.NameOf(2001, 2), EventRetentionFixture.NameOf(2001, 3)],
            result.Dropped.Order(StringComparer.Ordinal));
        var partitions = await fixture.PartitionsAsync();
        Assert.Contains(EventRetentionFixture.NameOf(2001, 4), partitions);
        var now = DateTime.UtcNow;
        Assert.Contains(EventRetentionFixture.NameOf(now.Year, now.Month), partitions);
        var kept = await fixture.QueryAsServiceAsync(
            "select extract(month from recorded_at at time zone 'UTC')::int, count(*) from job_events.events where actor_id = 'user:old' group by 1 order by 1",
            tenant.WorkspaceId.ToString(), r => (r.GetInt32(0), r.GetInt64(1)));
        Assert.Equal([(4, 3L), (5, 3L), (6, 3L)], kept);

        var again = await fixture.Maintenance.RunOnceAsync(new DateTime(2001, 5, 15, 12, 0, 0, DateTimeKind.Utc));
        Assert.Empty(again.Dropped);
    }

    [Fact]
    public async Task Verifying_a_job_whose_oldest_events_retention_dropped_is_valid_and_says_so()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync(name: "outlived by its oldest events")).Id();
        for (var i = 0; i < 2; i++)
        {
            (await client.EmitEventAsync(job, new { type = "step.output", payload = new { line = i } })).EnsureStatus(201);
        }

        // Retention reaches this month: its partition goes, whole; the month is made again for new appends.
        var now = DateTime.UtcNow;
        var dropped = await fixture.Maintenance.RunOnceAsync(now.AddMonths(2).AddDays(31));
        Assert.Contains(EventRetentionFixture.NameOf(now.Year, now.Month), dropped.Dropped);
        await fixture.ScalarAsOwnerAsync<string>($"select job_events.ensure_partition('{now:yyyy-MM}-01')");
        (await client.EmitEventAsync(job, new { type = "step.output", payload = new { line = "kept" } })).EnsureStatus(201);

        var verified = (await client.GetJsonAsync($"/api/runner-jobs/{job}/events/verify")).EnsureStatus(200).Json;

        Assert.True(verified.GetProperty("valid").GetBoolean(), verified.ToString());
        Assert.Equal(4, verified.GetProperty("checked").GetInt64());
        Assert.Equal(4, verified.GetProperty("lastSeq").GetInt64());
        Assert.Contains("seq 1 to 3 were removed by retention", verified.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var events = (await client.GetJsonAsync($"/api/runner-jobs/{job}/events")).EnsureStatus(200).Json.GetProperty("items");
        Assert.Equal([4L], events.EnumerateArray().Select(e => e.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task The_partitioning_migration_keeps_every_existing_event_with_its_id_seq_and_position()
    {
        // Not a whole GUID: the name ends up in Npgsql's pool-name metric label, which other tests check for id shapes.
        var database = $"jt_events_migration_{Guid.NewGuid().ToString("N")[..12]}";
        await using (var maintenance = new NpgsqlConnection(fixture.App.OwnerConnectionString))
        {
            await maintenance.OpenAsync();
            await using var create = new NpgsqlCommand($"create database {database}", maintenance);
            await create.ExecuteNonQueryAsync();
        }

        var target = new NpgsqlConnectionStringBuilder(fixture.App.OwnerConnectionString) { Database = database, Pooling = false }.ConnectionString;
        try
        {
            var appRole = new NpgsqlConnectionStringBuilder(fixture.App.ServiceConnectionString).Username!;
            var migrations = fixture.Migrator.Discover(appRole);
            var partitioning = migrations.Single(m => m.Module == "job_events" && m.Name.StartsWith("0008", StringComparison.Ordinal));
            await using var connection = new NpgsqlConnection(target);
            await connection.OpenAsync();
            foreach (var migration in migrations.TakeWhile(m => m != partitioning))
            {
                await ExecuteAsync(connection, migration.Sql);
            }

            // Rows of two workspaces over three months, as the unpartitioned table held them (seeded past row-level security).
            await ExecuteAsync(connection, """
                alter table job_events.events no force row level security;
                insert into job_events.events (id, workspace_id, job_id, seq, type, payload, actor_id, correlation_id, occurred_at, recorded_at, idempotency_key)
                select gen_random_uuid(), w, j, s, 'step.output', jsonb_build_object('s', s), 'user:x', 'c',
                       timestamptz '2026-09-20 00:00:00+00' + s * interval '1 day', timestamptz '2026-09-20 00:00:00+00' + s * interval '1 day',
                       case when s = 2 then 'key-' || j else null end
                from (values ('00000000-0000-0000-0000-00000000000a'::uuid, '00000000-0000-0000-0000-0000000000a1'::uuid),
                             ('00000000-0000-0000-0000-00000000000b'::uuid, '00000000-0000-0000-0000-0000000000b1'::uuid)) as t(w, j),
                     generate_series(1, 60) as s;
                alter table job_events.events force row level security;
                """);
            var before = await SnapshotAsync(connection);

            await ExecuteAsync(connection, partitioning.Sql);

            Assert.Equal(120, before.Count);
            Assert.Equal(before, await SnapshotAsync(connection));
            Assert.Equal("p", await ScalarAsync<string>(connection, "select relkind::text from pg_class where oid = 'job_events.events'::regclass"));
            // New rows continue after the moved positions.
            var next = await ScalarAsync<long>(connection, "select nextval('job_events.event_position_seq')");
            Assert.True(next > before.Max(r => r.Position), $"position {next} would repeat a moved one");
        }
        finally
        {
            NpgsqlConnection.ClearPool(new NpgsqlConnection(target));
            await using var maintenance = new NpgsqlConnection(fixture.App.OwnerConnectionString);
            await maintenance.OpenAsync();
            await using var drop = new NpgsqlCommand($"drop database if exists {database} with (force)", maintenance);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private sealed record EventRow(Guid Id, Guid WorkspaceId, Guid JobId, long Seq, long Position, string Payload, DateTime RecordedAt, string? Key);

    /// <summary>Every event, read as the owner with row-level security lifted for the check.</summary>
    private static async Task<List<EventRow>> SnapshotAsync(NpgsqlConnection connection)
    {
        await using var transaction = await connection.BeginTransactionAsync();
        var rows = new List<EventRow>();
        foreach (var workspace in new[] { "00000000-0000-0000-0000-00000000000a", "00000000-0000-0000-0000-00000000000b" })
        {
            await using var set = new NpgsqlCommand("select set_config('app.workspace_id', $1, true)", connection, transaction) { Parameters = { new() { Value = workspace } } };
            await set.ExecuteNonQueryAsync();
            await using var command = new NpgsqlCommand(
                "select id, workspace_id, job_id, seq, position, payload::text, recorded_at, idempotency_key from job_events.events order by position", connection, transaction);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                rows.Add(new EventRow(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetString(5),
                    reader.GetDateTime(6), reader.IsDBNull(7) ? null : reader.GetString(7)));
            }
        }

        await transaction.CommitAsync();
        return rows;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
