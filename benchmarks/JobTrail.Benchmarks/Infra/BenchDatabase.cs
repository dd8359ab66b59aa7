using Npgsql;

namespace JobTrail.Benchmarks.Infra;

/// <summary>
/// A fresh database per scenario, created and dropped by the owner role (which has CREATEDB), named
/// <c>jt_bench_&lt;run&gt;_&lt;n&gt;</c>. Databases of runs that died are dropped after an hour.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private static readonly string RunId = Guid.NewGuid().ToString("N")[..8];
    private static int counter;
    private readonly BenchEnvironment environment;
    private bool dropped;

    private BenchDatabase(BenchEnvironment environment, string name, bool kept = false)
    {
        this.environment = environment;
        Name = name;
        dropped = kept;
    }

    public string Name { get; }

    public string OwnerConnectionString => BenchEnvironment.ForDatabase(environment.OwnerConnectionString, Name);

    public string ServiceConnectionString => BenchEnvironment.ForDatabase(environment.ServiceConnectionString, Name);

    public static async Task<BenchDatabase> CreateAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        await DropStaleAsync(environment, cancellationToken);
        var name = $"jt_bench_{RunId}_{Interlocked.Increment(ref counter)}";
        await ExecuteOnMaintenanceAsync(environment, $"create database {name}", cancellationToken);
        Console.Error.WriteLine($"[bench] created database {name}");
        return new BenchDatabase(environment, name);
    }

    /// <summary>
    /// A database kept between runs (not dropped when disposed, and outside the <c>jt_bench_</c> names that are
    /// dropped as stale), created when missing; answers whether it existed.
    /// </summary>
    public static async Task<(BenchDatabase Database, bool Existed)> OpenKeptAsync(BenchEnvironment environment, string name, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(BenchEnvironment.ForDatabase(environment.OwnerConnectionString, "postgres"));
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("select exists (select from pg_database where datname = $1)", connection) { Parameters = { new() { Value = name } } };
        var existed = (bool)(await exists.ExecuteScalarAsync(cancellationToken))!;
        if (!existed)
        {
            await ExecuteOnMaintenanceAsync(environment, $"create database {name}", cancellationToken);
            Console.Error.WriteLine($"[bench] created database {name} (kept after the run)");
        }
        else
        {
            Console.Error.WriteLine($"[bench] reusing database {name}");
        }

        return (new BenchDatabase(environment, name, kept: true), existed);
    }

    /// <summary>Drops a kept database (a seed that did not finish).</summary>
    public static async Task DropKeptAsync(BenchEnvironment environment, string name, CancellationToken cancellationToken)
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteOnMaintenanceAsync(environment, $"drop database if exists {name} with (force)", cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        if (dropped)
        {
            return;
        }

        dropped = true;
        NpgsqlConnection.ClearAllPools();
        // FORCE may not end the service role's sessions (the owner lacks pg_signal_backend); the API
        // is stopped before this, so its sessions end within moments: retry within a deadline.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await ExecuteOnMaintenanceAsync(environment, $"drop database if exists {Name} with (force)", CancellationToken.None);
                Console.Error.WriteLine($"[bench] dropped database {Name}");
                return;
            }
            catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ObjectInUse
                                               && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }
            catch (Exception ex)
            {
                // Disposed on the way out, often after another failure: say so rather than hide that failure. The next
                // run drops every stale jt_bench_ database before it starts.
                Console.Error.WriteLine($"[bench] could not drop database {Name} ({ex.Message}); the next run drops it");
                return;
            }
        }
    }

    private static async Task DropStaleAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(BenchEnvironment.ForDatabase(environment.OwnerConnectionString, "postgres"));
        await connection.OpenAsync(cancellationToken);
        var stale = new List<string>();
        await using (var command = new NpgsqlCommand(
            """
            select datname from pg_database
            where datname like 'jt\_bench\_%'
              and (pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification < now() - interval '1 hour'
            """, connection))
        {
            try
            {
                await using var reader = await command.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
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
            await drop.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    private static async Task ExecuteOnMaintenanceAsync(BenchEnvironment environment, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(BenchEnvironment.ForDatabase(environment.OwnerConnectionString, "postgres"));
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
