using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace JobTrail.Client.Tests.Infrastructure;

/// <summary>
/// The real host (Program) on a test database, listening on a real loopback port (Kestrel), so a
/// client talks to it over TCP and a test can stop it and start another on the same port and database.
/// </summary>
internal sealed class ClientTestHost(string database, string? bootstrapKey, int? port, IReadOnlyDictionary<string, string?> settings)
    : WebApplicationFactory<Program>
{
    /// <summary>A fixed test value for the hash-chain key, never a real one.</summary>
    public const string IntegrityKey = "dGVzdC1vbmx5LWludGVncml0eS1rZXktMzItYnl0ZXMhIQ==";

    public void Start()
    {
        if (port is { } p)
        {
            UseKestrel(options => options.Listen(IPAddress.Loopback, p));
            StartServer();
        }
        else
        {
            _ = Server;
        }
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("JobTrail:Postgres", ClientTestDatabases.ForDatabase(ClientTestDatabases.ServiceConnectionString, database));
        builder.UseSetting("JobTrail:PostgresOwner", ClientTestDatabases.ForDatabase(ClientTestDatabases.OwnerConnectionString, database));
        builder.UseSetting("JobTrail:Bootstrap:ApiKey", bootstrapKey ?? string.Empty);
        builder.UseSetting("JobTrail:Bootstrap:Workspace", "default");
        builder.UseSetting("JobTrail:Integrity:Key", IntegrityKey);
        // Several hosts run at once: no metrics listener on the default port.
        builder.UseSetting("JobTrail:Metrics:Url", string.Empty);
        foreach (var (key, value) in settings)
        {
            builder.UseSetting(key, value);
        }

        builder.ConfigureLogging(logging => logging.SetMinimumLevel(LogLevel.Warning));
        // Open event streams must not hold a stop for long: a restart test drops them on purpose.
        builder.ConfigureTestServices(services => services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2)));
    }
}
