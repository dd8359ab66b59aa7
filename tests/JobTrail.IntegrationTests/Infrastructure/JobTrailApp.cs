using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// The real host (Program) on a test database, with the real PostgreSQL behind it. Extra settings
/// and services (applied after the host's own, e.g. an EF interceptor) are optional.
/// </summary>
internal sealed class JobTrailApp(
    string database,
    string? bootstrapKey,
    IReadOnlyDictionary<string, string?>? settings = null,
    Action<IServiceCollection>? configureServices = null)
    : WebApplicationFactory<Program>
{
    /// <summary>
    /// The hash-chain key of every test host (a fixed test value, never a real one), so that tests can
    /// recompute links; a fixture may override <c>JobTrail:Integrity:Key</c> in its settings.
    /// </summary>
    public const string IntegrityKey = "dGVzdC1vbmx5LWludGVncml0eS1rZXktMzItYnl0ZXMhIQ==";

    public string Database { get; } = database;

    /// <summary>
    /// A host for a start-up check that fails before the first connection: its database is never created, but its
    /// connection string still names the test server, which is resolved first (whichever test of a run comes first).
    /// </summary>
    public static async Task<JobTrailApp> WithoutDatabaseAsync(IReadOnlyDictionary<string, string?> settings)
    {
        await TestPostgres.GetAsync();
        return new JobTrailApp("jt_never_created", bootstrapKey: null, settings);
    }

    public string ServiceConnectionString => TestDatabases.ForDatabase(TestDatabases.ServiceConnectionString, Database);

    public string OwnerConnectionString => TestDatabases.ForDatabase(TestDatabases.OwnerConnectionString, Database);

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("JobTrail:Postgres", ServiceConnectionString);
        builder.UseSetting("JobTrail:PostgresOwner", OwnerConnectionString);
        builder.UseSetting("JobTrail:Bootstrap:ApiKey", bootstrapKey ?? string.Empty);
        builder.UseSetting("JobTrail:Bootstrap:Workspace", "default");
        builder.UseSetting("JobTrail:Integrity:Key", IntegrityKey);
        // Many hosts run at once: no metrics listener unless a fixture asks for one (on a free port).
        builder.UseSetting("JobTrail:Metrics:Url", string.Empty);
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        if (configureServices is not null)
        {
            builder.ConfigureTestServices(configureServices);
        }
    }
}
