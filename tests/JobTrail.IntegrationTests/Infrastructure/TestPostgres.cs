using System.Security.Cryptography;
using Docker.DotNet.Models;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Images;
using Npgsql;
using Testcontainers.PostgreSql;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// The PostgreSQL server of this test run, chosen once per process: a container started with
/// Testcontainers when a Docker engine can run one, else the local server of scripts/services.sh
/// (JobTrail__Postgres / JobTrail__PostgresOwner). <c>JOBTRAIL_TEST_POSTGRES</c> forces a choice:
/// <c>testcontainers</c> (no fallback: the run fails without Docker), <c>local</c>, or <c>auto</c>
/// (the default). The choice is written to <c>JOBTRAIL_TEST_POSTGRES_REPORT</c> (scripts/test.sh
/// names the PostgreSQL of the run in its summary line from it).
/// </summary>
internal static class TestPostgres
{
    /// <summary>The image scripts/postgres-image.sh builds from Debian packages (no registry needed).</summary>
    public const string LocalImage = "jobtrail-test/postgres:15";

    private const int ContainerPort = 5432;
    private const string RunLabel = "org.jobtrail.test-run";
    private const string OwnerPidLabel = "org.jobtrail.test-owner-pid";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(2);
    private static readonly Lazy<Task<TestPostgresServer>> Current = new(ResolveAsync);
    private static TestPostgresServer? started;

    /// <summary>The server, started (or chosen) on first use.</summary>
    public static Task<TestPostgresServer> GetAsync() => Current.Value;

    /// <summary>The server once <see cref="GetAsync"/> has completed.</summary>
    public static TestPostgresServer Started =>
        started ?? throw new InvalidOperationException("The test PostgreSQL has not been resolved yet: await TestPostgres.GetAsync() first.");

    private static async Task<TestPostgresServer> ResolveAsync()
    {
        var mode = (Environment.GetEnvironmentVariable("JOBTRAIL_TEST_POSTGRES") ?? "auto").Trim().ToLowerInvariant();
        TestPostgresServer server;
        switch (mode)
        {
            case "local":
                server = Local(Environment.GetEnvironmentVariable("JOBTRAIL_TEST_POSTGRES_NOTE"));
                break;
            case "testcontainers":
                server = await StartContainerAsync();
                break;
            case "auto" or "":
                try
                {
                    server = await StartContainerAsync();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    // No engine, no image, a container that would not start: the local server instead, said out loud.
                    var reason = FirstLine(ex.Message);
                    Console.Error.WriteLine($"[tests] Testcontainers PostgreSQL unavailable ({ex.GetType().Name}: {reason}); using the local server.");
                    server = Local($"Testcontainers unavailable: {reason}");
                }

                break;
            default:
                throw new InvalidOperationException($"JOBTRAIL_TEST_POSTGRES must be auto, testcontainers or local, not '{mode}'.");
        }

        Report(server.Description);
        started = server;
        return server;
    }

    private static TestPostgresServer Local(string? note)
    {
        var service = Required("JobTrail__Postgres");
        var owner = Environment.GetEnvironmentVariable("JobTrail__PostgresOwner") is { Length: > 0 } o ? o : service;
        var builder = new NpgsqlConnectionStringBuilder(service);
        var description = $"local {builder.Host}:{builder.Port}" + (string.IsNullOrWhiteSpace(note) ? string.Empty : $", {note}");
        return new TestPostgresServer(service, owner, description, DropsWithServer: false);
    }

    private static async Task<TestPostgresServer> StartContainerAsync()
    {
        // Before Testcontainers reads its settings: no reaper (its image cannot be pulled here; the
        // container is removed at process exit and by scripts/test.sh), and ports on loopback.
        DefaultEnvironment("TESTCONTAINERS_RYUK_DISABLED", "true");
        DefaultEnvironment("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1");

        var image = Environment.GetEnvironmentVariable("JOBTRAIL_TEST_POSTGRES_IMAGE") is { Length: > 0 } i ? i : LocalImage;
        var rolesSql = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "postgres-roles.sql"));
        var container = new PostgreSqlBuilder()
            .WithImage(image)
            // The local image exists only on this machine; others (e.g. postgres:15) may be pulled.
            .WithImagePullPolicy(image == LocalImage ? PullPolicy.Never : PullPolicy.Missing)
            .WithUsername("postgres")
            .WithPassword(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)))
            .WithDatabase("postgres")
            // As the local server (scripts/services.sh): parallel test classes each hold pools.
            .WithCommand("-c", "max_connections=400", "-c", "shared_buffers=256MB")
            .WithLabel(RunLabel, Environment.GetEnvironmentVariable("JOBTRAIL_TEST_RUN_ID") is { Length: > 0 } run ? run : Guid.NewGuid().ToString("N"))
            .WithLabel(OwnerPidLabel, Environment.GetEnvironmentVariable("JOBTRAIL_TEST_OWNER_PID") ?? Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithCreateParameterModifier(LoopbackOnly)
            .Build();
        using var timeout = new CancellationTokenSource(StartTimeout);
        try
        {
            await container.StartAsync(timeout.Token);
            var result = await container.ExecScriptAsync(rolesSql, timeout.Token);
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"The roles script failed in the container (exit {result.ExitCode}): {result.Stderr}");
            }
        }
        catch
        {
            await container.DisposeAsync();
            throw;
        }

        // One container per test process, removed when the process ends (no reaper does it).
        AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
        var port = container.GetMappedPublicPort(ContainerPort);
        string For(string role) => new NpgsqlConnectionStringBuilder
        {
            Host = container.Hostname,
            Port = port,
            Database = "jobtrail",
            Username = role,
            Password = role,
        }.ConnectionString;
        return new TestPostgresServer(For("jobtrail_app"), For("jobtrail_owner"), $"Testcontainers {image}", DropsWithServer: true);
    }

    /// <summary>Publishes the container's port on 127.0.0.1 only, whatever the engine's default address.</summary>
    private static void LoopbackOnly(CreateContainerParameters parameters)
    {
        parameters.HostConfig.ShmSize = 256L * 1024 * 1024;
        foreach (var bindings in parameters.HostConfig.PortBindings?.Values ?? [])
        {
            foreach (var binding in bindings)
            {
                binding.HostIP = "127.0.0.1";
            }
        }
    }

    private static void Report(string description)
    {
        Console.Error.WriteLine($"[tests] PostgreSQL: {description}");
        if (Environment.GetEnvironmentVariable("JOBTRAIL_TEST_POSTGRES_REPORT") is { Length: > 0 } path)
        {
            File.AppendAllText(path, description + Environment.NewLine);
        }
    }

    private static void DefaultEnvironment(string name, string value)
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)))
        {
            Environment.SetEnvironmentVariable(name, value);
        }
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable)
        ?? throw new InvalidOperationException($"{variable} is not set: run the tests through scripts/test.sh, which starts PostgreSQL and sets it.");
}

/// <summary>
/// Connection strings (database <c>jobtrail</c>) of the run's server for the service and owner roles.
/// <paramref name="DropsWithServer"/>: the whole server goes at the end of the run (a container), so
/// nothing in it needs dropping.
/// </summary>
internal sealed record TestPostgresServer(string ServiceConnectionString, string OwnerConnectionString, string Description, bool DropsWithServer);
