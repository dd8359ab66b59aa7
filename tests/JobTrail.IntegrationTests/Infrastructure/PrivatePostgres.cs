using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// A PostgreSQL cluster of a test's own: initdb into a temporary directory, served on a free loopback
/// port, with the owner and service roles the host expects (as scripts/services.sh makes them) and an
/// empty <c>jobtrail</c> database that the host migrates at start-up. A fault test may stop and start
/// it; the shared server is never touched. Run as root, the server runs as the OS user
/// <c>postgres</c> (which scripts/services.sh creates), since PostgreSQL refuses to run as root.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private const string Superuser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(90);
    private readonly string root = Directory.CreateTempSubdirectory("jobtrail-pg-").FullName;
    private readonly string bin = FindBinaries();
    private readonly bool asRoot = Environment.IsPrivilegedProcess;
    private bool initialised;
    private PrivatePostgres? primary;

    public int Port { get; } = FreePort();

    /// <summary>Configures the cluster to stream its WAL to standbys (<c>wal_level = replica</c>); set before the first start.</summary>
    public bool ForReplication { get; init; }

    /// <summary>
    /// A hot standby of <paramref name="source"/> (which must run, made <see cref="ForReplication"/>):
    /// <c>pg_basebackup -R</c> on its first start, then streaming replication over the source's socket.
    /// Roles, database and schema are the source's, replicated.
    /// </summary>
    public static PrivatePostgres StandbyOf(PrivatePostgres source) => new() { primary = source };

    /// <summary>
    /// The service role. A short connect timeout: a stopped server refuses at once on loopback, but a
    /// wait must never outlast a test's deadline.
    /// </summary>
    public string ServiceConnectionString => ConnectionString("jobtrail_app");

    public string OwnerConnectionString => ConnectionString("jobtrail_owner");

    private string DataDirectory => Path.Combine(root, "data");

    private string SocketDirectory => Path.Combine(root, "socket");

    private string LogFile => Path.Combine(root, "server.log");

    /// <summary>Creates the cluster on first use, then starts it and waits until it accepts connections.</summary>
    public async Task StartAsync()
    {
        if (!initialised)
        {
            await (primary is null ? InitialiseAsync() : BaseBackupAsync(primary));
        }

        await PgCtlAsync("start", "-l", LogFile, "-w", "-t", "60");
        if (!initialised)
        {
            if (primary is null)
            {
                await CreateRolesAsync();
            }

            initialised = true;
        }
    }

    /// <summary>Runs one statement as the superuser over the cluster's socket (e.g. <c>select pg_wal_replay_pause()</c>).</summary>
    public async Task<object?> SuperuserScalarAsync(string sql)
    {
        var superuser = new NpgsqlConnectionStringBuilder
        {
            Host = SocketDirectory,
            Port = Port,
            Database = "jobtrail",
            Username = Superuser,
            Pooling = false,
        };
        await using var connection = new NpgsqlConnection(superuser.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    /// <summary><c>pg_ctl stop -m fast</c>: every session is ended, as in an operator's restart or a failover.</summary>
    public Task StopAsync() => PgCtlAsync("stop", "-m", "fast", "-w", "-t", "60");

    /// <summary>True when the server answers as the service role.</summary>
    public async Task<bool> IsAnsweringAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ServiceConnectionString) { Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            return true;
        }
        catch (NpgsqlException)
        {
            return false;
        }
    }

    /// <summary>Stops the server if it runs and deletes its directory, whatever state a failed test left.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
            {
                await PgCtlAsync("stop", "-m", "immediate", "-w", "-t", "60");
            }
        }
        catch (InvalidOperationException)
        {
            KillPostmaster();
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A server that would not stop still holds files; the directory is in the temp dir.
            }
        }
    }

    private string ConnectionString(string role) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Database = "jobtrail",
        Username = role,
        Password = role,
        Timeout = 3,
        CommandTimeout = 10,
    }.ConnectionString;

    private async Task InitialiseAsync()
    {
        Directory.CreateDirectory(DataDirectory);
        Directory.CreateDirectory(SocketDirectory);
        if (asRoot)
        {
            await RunAsync("chown", "-R", $"{Superuser}:", root);
        }

        await AsServerUserAsync(Path.Combine(bin, "initdb"), "-D", DataDirectory, "-U", Superuser, "-E", "UTF8", "--locale=C",
            "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync");
        // Loopback only; durability is not what these tests are about.
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), string.Create(CultureInfo.InvariantCulture, $"""

            listen_addresses = '127.0.0.1'
            port = {Port}
            unix_socket_directories = '{SocketDirectory}'
            max_connections = 100
            fsync = off
            synchronous_commit = off
            full_page_writes = off

            """));
        if (ForReplication)
        {
            await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), """

                wal_level = replica
                max_wal_senders = 4
                hot_standby = on

                """);
        }
    }

    /// <summary>Copies the running source with <c>pg_basebackup -R</c> (standby.signal, primary_conninfo) and gives the copy its own port.</summary>
    private async Task BaseBackupAsync(PrivatePostgres source)
    {
        Directory.CreateDirectory(SocketDirectory);
        if (asRoot)
        {
            await RunAsync("chown", "-R", $"{Superuser}:", root);
        }

        await AsServerUserAsync(Path.Combine(bin, "pg_basebackup"), "-h", source.SocketDirectory, "-p",
            source.Port.ToString(CultureInfo.InvariantCulture), "-U", Superuser, "-D", DataDirectory, "-R", "-X", "stream", "-c", "fast", "-w", "--no-sync");
        // Later lines win: the copied configuration still names the source's port and socket.
        await File.AppendAllTextAsync(Path.Combine(DataDirectory, "postgresql.conf"), string.Create(CultureInfo.InvariantCulture, $"""

            port = {Port}
            unix_socket_directories = '{SocketDirectory}'
            hot_standby = on

            """));
    }

    private async Task CreateRolesAsync()
    {
        var superuser = new NpgsqlConnectionStringBuilder
        {
            Host = SocketDirectory,
            Port = Port,
            Database = "postgres",
            Username = Superuser,
            Pooling = false,
        };
        await using var connection = new NpgsqlConnection(superuser.ConnectionString);
        await connection.OpenAsync();
        foreach (var sql in new[]
        {
            "create role jobtrail_owner login password 'jobtrail_owner' createdb nosuperuser",
            "create role jobtrail_app login password 'jobtrail_app' nosuperuser nocreatedb nocreaterole nobypassrls noinherit",
            "create database jobtrail owner jobtrail_owner",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    private Task PgCtlAsync(params string[] args) =>
        AsServerUserAsync(Path.Combine(bin, "pg_ctl"), ["-D", DataDirectory, .. args]);

    private Task AsServerUserAsync(string program, params string[] args) =>
        asRoot ? RunAsync("runuser", ["-u", Superuser, "--", program, .. args]) : RunAsync(program, args);

    private static async Task RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = "/",
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} did not finish within {CommandTimeout}.");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{program} {string.Join(' ', args)} exited with {process.ExitCode}: {await output} {await error}");
        }
    }

    /// <summary>The last resort of clean-up: the postmaster this cluster started, by the id in its pid file.</summary>
    private void KillPostmaster()
    {
        try
        {
            var line = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                using var postmaster = Process.GetProcessById(pid);
                postmaster.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    /// <summary>The newest installed server (scripts/services.sh installs one before the tests run).</summary>
    private static string FindBinaries()
    {
        var found = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")) && File.Exists(Path.Combine(b, "postgres")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0)
                .FirstOrDefault()
            : null;
        return found ?? throw new InvalidOperationException("No PostgreSQL server under /usr/lib/postgresql/*/bin: run the tests through scripts/test.sh.");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
