using Npgsql;

namespace JobTrail.Benchmarks.Infra;

/// <summary>
/// Where the backing services are: the same variables the service and scripts/services.sh use
/// (<c>JobTrail__PostgresOwner</c>, <c>JobTrail__Postgres</c>, <c>JobTrail__Valkey</c>), with the
/// local defaults of scripts/services.sh when they are unset.
/// </summary>
internal sealed record BenchEnvironment(
    string OwnerConnectionString,
    string ServiceConnectionString,
    string Valkey,
    string RepositoryRoot,
    string Configuration)
{
    private const string LocalOwner = "Host=127.0.0.1;Port=55432;Database=jobtrail;Username=jobtrail_owner;Password=jobtrail_owner";
    private const string LocalService = "Host=127.0.0.1;Port=55432;Database=jobtrail;Username=jobtrail_app;Password=jobtrail_app";

    public static BenchEnvironment FromProcess()
    {
        var service = Variable("JobTrail__Postgres") ?? LocalService;
        var owner = Variable("JobTrail__PostgresOwner") ?? (Variable("JobTrail__Postgres") is null ? LocalOwner : service);
        var valkey = Variable("JobTrail__Valkey") ?? LocalValkey();
#if DEBUG
        const string configuration = "Debug";
#else
        const string configuration = "Release";
#endif
        return new BenchEnvironment(owner, service, valkey, FindRepositoryRoot(), configuration);
    }

    /// <summary>The local Valkey of scripts/services.sh, with the password it keeps in its data dir.</summary>
    private static string LocalValkey()
    {
        var passwordFile = Path.Combine(Variable("JOBTRAIL_DATA_DIR") ?? "/var/tmp/jobtrail", "valkey.password");
        return File.Exists(passwordFile) ? $"127.0.0.1:56379,password={File.ReadAllText(passwordFile).Trim()}" : "127.0.0.1:56379";
    }

    /// <summary>A connection string of <paramref name="baseString"/> pointed at <paramref name="database"/>, plus extra keywords.</summary>
    public static string ForDatabase(string baseString, string database, string? extra = null)
    {
        var builder = new NpgsqlConnectionStringBuilder(baseString) { Database = database };
        if (!string.IsNullOrWhiteSpace(extra))
        {
            foreach (var (key, value) in ParseExtra(extra))
            {
                builder[key] = value;
            }
        }

        return builder.ConnectionString;
    }

    /// <summary>"A=1;B=2" as pairs; used for <c>--service-extra</c>.</summary>
    public static IEnumerable<(string Key, string Value)> ParseExtra(string extra) =>
        extra.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(parts => parts.Length == 2)
            .Select(parts => (parts[0], parts[1]));

    /// <summary>The built API: src/JobTrail.Host/bin/&lt;configuration&gt;/net10.0/JobTrail.Host.dll.</summary>
    public string HostDll
    {
        get
        {
            var built = Path.Combine(RepositoryRoot, "src", "JobTrail.Host", "bin", Configuration, "net10.0", "JobTrail.Host.dll");
            if (File.Exists(built))
            {
                return built;
            }

            var copied = Path.Combine(AppContext.BaseDirectory, "JobTrail.Host.dll");
            return File.Exists(copied)
                ? copied
                : throw new InvalidOperationException(
                    $"{built} does not exist: build it with `dotnet build -c {Configuration} src/JobTrail.Host` (running this tool with `dotnet run -c {Configuration}` builds it).");
        }
    }

    /// <summary>The dotnet muxer that runs this tool (DOTNET_HOST_PATH under `dotnet run`), else `dotnet` on PATH.</summary>
    public static string DotnetMuxer =>
        Variable("DOTNET_HOST_PATH") is { } host && File.Exists(host) ? host : "dotnet";

    public static string? Variable(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : null;

    private static string FindRepositoryRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Modules.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        throw new InvalidOperationException($"No Modules.sln above {AppContext.BaseDirectory} or the current directory.");
    }
}
