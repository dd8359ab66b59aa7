using Npgsql;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// One migrated template database per test run; each test class clones its own database from it
/// (CREATE DATABASE … TEMPLATE), so classes run in parallel without seeing each other's rows.
/// The server is the run's <see cref="TestPostgres"/>: a Testcontainers container, or the local one.
/// </summary>
internal static class TestDatabases
{
    private static readonly SemaphoreSlim CloneLock = new(1, 1);
    private static readonly Lazy<Task<string>> Template = new(CreateTemplateAsync);
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..10];

    public static string ServiceConnectionString => TestPostgres.Started.ServiceConnectionString;

    public static string OwnerConnectionString => TestPostgres.Started.OwnerConnectionString;

    public static string ForDatabase(string connectionString, string database) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Database = database, Pooling = true }.ConnectionString;

    public static async Task<string> CreateAsync()
    {
        var template = await Template.Value;
        var name = $"jt_test_{RunId}_{Guid.NewGuid().ToString("N")[..8]}";
        await CloneLock.WaitAsync();
        try
        {
            await ExecuteOnMaintenanceAsync($"create database {name} template {template}");
        }
        finally
        {
            CloneLock.Release();
        }

        return name;
    }

    public static async Task DropAsync(string name)
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

    private static async Task<string> CreateTemplateAsync()
    {
        var server = await TestPostgres.GetAsync();
        var name = $"jt_tpl_{RunId}";
        await DropStaleAsync();
        await ExecuteOnMaintenanceAsync($"create database {name}");
        // Starting the real host once applies every module's migrations, exactly as in production.
        await using (var host = new JobTrailApp(name, bootstrapKey: null))
        {
            _ = host.Server;
        }

        // A template must have no open connections when it is copied.
        NpgsqlConnection.ClearAllPools();
        if (!server.DropsWithServer)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => ExecuteOnMaintenanceAsync($"drop database if exists {name} with (force)").GetAwaiter().GetResult();
        }

        return name;
    }

    /// <summary>Databases left by runs that died before cleaning up (older than an hour).</summary>
    private static async Task DropStaleAsync()
    {
        await using var connection = new NpgsqlConnection(ForDatabase(OwnerConnectionString, "postgres"));
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

    private static async Task ExecuteOnMaintenanceAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ForDatabase(OwnerConnectionString, "postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }
}
