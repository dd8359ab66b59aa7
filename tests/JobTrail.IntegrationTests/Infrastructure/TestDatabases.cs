using JobTrail.Testing;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// The integration tests' databases (see <see cref="DatabaseClones"/>) on the run's <see cref="TestPostgres"/>:
/// a Testcontainers container, or the local server.
/// </summary>
internal static class TestDatabases
{
    private static readonly DatabaseClones Clones = new(
        () => OwnerConnectionString,
        async template =>
        {
            await TestPostgres.GetAsync();
            // Starting the real host once applies every module's migrations, exactly as in production.
            await using var host = new JobTrailApp(template, bootstrapKey: null);
            _ = host.Server;
        },
        () => !TestPostgres.Started.DropsWithServer);

    public static string ServiceConnectionString => TestPostgres.Started.ServiceConnectionString;

    public static string OwnerConnectionString => TestPostgres.Started.OwnerConnectionString;

    public static string ForDatabase(string connectionString, string database) => DatabaseClones.ForDatabase(connectionString, database);

    public static async Task<string> CreateAsync()
    {
        await TestPostgres.GetAsync();
        return await Clones.CreateAsync();
    }

    public static Task DropAsync(string name) => Clones.DropAsync(name);
}
