using Npgsql;

namespace JobTrail.Client.Tests.Infrastructure;

/// <summary>
/// One migrated template database per test run (the real host migrates it on its first start);
/// each fixture clones its own database from it. Settings come from the variables scripts/test.sh sets.
/// </summary>
internal static class ClientTestDatabases
{
    private static readonly SemaphoreSlim CloneLock = new(1, 1);
    private static readonly Lazy<Task<string>> Template = new(CreateTemplateAsync);
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..10];

    public static string ServiceConnectionString { get; } = Required("JobTrail__Postgres");

    public static string OwnerConnectionString { get; } = Required("JobTrail__PostgresOwner");

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
        // Server processes of cleared pools end a moment later: retry within a deadline.
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
        var name = $"jt_tpl_{RunId}";
        await ExecuteOnMaintenanceAsync($"create database {name}");
        // Starting the real host once applies every module's migrations, exactly as in production.
        await using (var host = new ClientTestHost(name, bootstrapKey: null, port: null, new Dictionary<string, string?>()))
        {
            host.Start();
        }

        // A template must have no open connections when it is copied.
        NpgsqlConnection.ClearAllPools();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => ExecuteOnMaintenanceAsync($"drop database if exists {name} with (force)").GetAwaiter().GetResult();
        return name;
    }

    private static async Task ExecuteOnMaintenanceAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ForDatabase(OwnerConnectionString, "postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable)
        ?? throw new InvalidOperationException($"{variable} is not set: run the tests through scripts/test.sh, which starts PostgreSQL and sets it.");
}
