using Npgsql;

namespace JobTrail.Testing;

/// <summary>
/// One migrated template database per test run; each fixture clones its own database from it
/// (CREATE DATABASE … TEMPLATE), so fixtures run in parallel without seeing each other's rows.
/// What differs between test projects is only how the template is migrated (which host starts on it).
/// </summary>
internal sealed class DatabaseClones
{
    private readonly SemaphoreSlim cloneLock = new(1, 1);
    private readonly Lazy<Task<string>> template;
    private readonly string runId = Guid.NewGuid().ToString("N")[..10];
    private readonly Func<string> ownerConnectionString;

    /// <param name="ownerConnectionString">The owner role's connection string (CREATEDB), read when first needed.</param>
    /// <param name="migrateTemplate">Starts the real host once on the new template database, which migrates it.</param>
    /// <param name="dropTemplateAtExit">False when the server itself goes away with the run.</param>
    public DatabaseClones(Func<string> ownerConnectionString, Func<string, Task> migrateTemplate, Func<bool> dropTemplateAtExit)
    {
        this.ownerConnectionString = ownerConnectionString;
        template = new Lazy<Task<string>>(async () =>
        {
            var name = $"jt_tpl_{runId}";
            await DropStaleAsync();
            await ExecuteOnMaintenanceAsync($"create database {name}");
            await migrateTemplate(name);
            // A template must have no open connections when it is copied.
            NpgsqlConnection.ClearAllPools();
            if (dropTemplateAtExit())
            {
                AppDomain.CurrentDomain.ProcessExit += (_, _) => ExecuteOnMaintenanceAsync($"drop database if exists {name} with (force)").GetAwaiter().GetResult();
            }

            return name;
        });
    }

    public static string ForDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database, Pooling = true }.ConnectionString;

    public async Task<string> CreateAsync()
    {
        var from = await template.Value;
        var name = $"jt_test_{runId}_{Guid.NewGuid().ToString("N")[..8]}";
        await cloneLock.WaitAsync();
        try
        {
            await ExecuteOnMaintenanceAsync($"create database {name} template {from}");
        }
        finally
        {
            cloneLock.Release();
        }

        return name;
    }

    public async Task DropAsync(string name)
    {
        NpgsqlConnection.ClearAllPools();
        // Cleared pools close their connections, but the server processes end a moment later, and
        // FORCE may not terminate the service role's (the owner lacks pg_signal_backend): retry until
        // they are gone, within a deadline, so a leaked connection still fails the run.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await ExecuteOnMaintenanceAsync($"drop database if exists {name} with (force)");
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }
        }
    }

    /// <summary>Databases left by runs that died before cleaning up (older than an hour).</summary>
    private async Task DropStaleAsync()
    {
        await using var connection = new NpgsqlConnection(ForDatabase(ownerConnectionString(), "postgres"));
        await connection.OpenAsync();
        var stale = new List<string>();
        await using (var command = new NpgsqlCommand(
            """
            select datname from pg_database
            where (datname like 'jt\_test\_%' or datname like 'jt\_tpl\_%')
              and (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification < now() - interval '1 hour'
            """, connection))
        {
            try
            {
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    stale.Add(reader.GetString(0));
                }
            }
            catch (PostgresException)
            {
                // Reading file times needs pg_read_server_files; without it stale databases stay.
            }
        }

        foreach (var name in stale)
        {
            await using var drop = new NpgsqlCommand($"drop database if exists {name} with (force)", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }

    private async Task ExecuteOnMaintenanceAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ForDatabase(ownerConnectionString(), "postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
