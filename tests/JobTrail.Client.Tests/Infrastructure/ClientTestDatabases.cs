using JobTrail.Testing;

namespace JobTrail.Client.Tests.Infrastructure;

/// <summary>
/// The client tests' databases (see <see cref="DatabaseClones"/>) on the server scripts/test.sh started;
/// settings come from the variables it sets.
/// </summary>
internal static class ClientTestDatabases
{
    public static string ServiceConnectionString { get; } = Required("JobTrail__Postgres");

    public static string OwnerConnectionString { get; } = Required("JobTrail__PostgresOwner");

    private static readonly DatabaseClones Clones = new(
        () => OwnerConnectionString,
        async template =>
        {
            // Starting the real host once applies every module's migrations, exactly as in production.
            await using var host = new ClientTestHost(template, bootstrapKey: null, port: null, new Dictionary<string, string?>());
            host.Start();
        },
        () => true);

    public static string ForDatabase(string connectionString, string database) => DatabaseClones.ForDatabase(connectionString, database);

    public static Task<string> CreateAsync() => Clones.CreateAsync();

    public static Task DropAsync(string name) => Clones.DropAsync(name);

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable)
        ?? throw new InvalidOperationException($"{variable} is not set: run the tests through scripts/test.sh, which starts PostgreSQL and sets it.");
}
