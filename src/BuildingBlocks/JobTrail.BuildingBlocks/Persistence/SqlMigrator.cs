using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>A module's ordered SQL migrations, shipped as embedded resources named <c>*.Migrations.NNNN_name.sql</c>.</summary>
public sealed record ModuleMigrations(string Module, Assembly Assembly, int Order);

public sealed record Migration(string Module, string Name, string Sql, string Checksum);

/// <summary>
/// Applies every module's SQL migrations in order, each in its own transaction, under an advisory
/// lock so that several instances starting together apply each migration once. An applied migration
/// whose text has changed stops start-up: history is never rewritten silently.
/// </summary>
public sealed class SqlMigrator(IEnumerable<ModuleMigrations> sources, DatabaseOptions options, ILogger<SqlMigrator> logger)
{
    private const long LockKey = 0x4A_54_4D_49_47; // "JTMIG"

    public IReadOnlyList<Migration> Discover(string appRole) =>
        sources.OrderBy(s => s.Order).ThenBy(s => s.Module, StringComparer.Ordinal)
            .SelectMany(s => Read(s, appRole))
            .ToList();

    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var appRole = new NpgsqlConnectionStringBuilder(options.ServiceConnectionString).Username
            ?? throw new InvalidOperationException("The service connection string names no user.");
        var migrations = Discover(appRole);

        await using var connection = new NpgsqlConnection(options.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await Execute(connection, null, $"select pg_advisory_lock({LockKey})", cancellationToken);
        try
        {
            var quotedRole = QuoteIdentifier(appRole);
            await Execute(connection, null, $"""
                create schema if not exists jobtrail_meta;
                create table if not exists jobtrail_meta.migrations (
                    module text not null,
                    name text not null,
                    checksum text not null,
                    applied_at timestamptz not null default now(),
                    primary key (module, name));
                grant usage on schema jobtrail_meta to {quotedRole};
                grant select on jobtrail_meta.migrations to {quotedRole};
                """, cancellationToken);

            var applied = await ReadApplied(connection, cancellationToken);
            var count = 0;
            foreach (var migration in migrations)
            {
                if (applied.TryGetValue((migration.Module, migration.Name), out var checksum))
                {
                    if (checksum != migration.Checksum)
                    {
                        throw new InvalidOperationException(
                            $"Migration {migration.Module}/{migration.Name} was changed after it was applied " +
                            $"(recorded checksum {checksum}, now {migration.Checksum}). Add a new migration instead.");
                    }

                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await Execute(connection, transaction, migration.Sql, cancellationToken);
                await using (var record = new NpgsqlCommand(
                    "insert into jobtrail_meta.migrations (module, name, checksum) values ($1, $2, $3)", connection, transaction))
                {
                    record.Parameters.Add(new NpgsqlParameter { Value = migration.Module });
                    record.Parameters.Add(new NpgsqlParameter { Value = migration.Name });
                    record.Parameters.Add(new NpgsqlParameter { Value = migration.Checksum });
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                logger.LogInformation("Applied migration {Module}/{Name}", migration.Module, migration.Name);
                count++;
            }

            return count;
        }
        finally
        {
            await Execute(connection, null, $"select pg_advisory_unlock({LockKey})", CancellationToken.None);
        }
    }

    private static IEnumerable<Migration> Read(ModuleMigrations source, string appRole)
    {
        var quotedRole = QuoteIdentifier(appRole);
        foreach (var resource in source.Assembly.GetManifestResourceNames()
                     .Where(n => n.Contains(".Migrations.", StringComparison.Ordinal) && n.EndsWith(".sql", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            using var stream = source.Assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var text = reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
            var name = resource[(resource.LastIndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..];
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
            yield return new Migration(source.Module, name, text.Replace("${app_role}", quotedRole, StringComparison.Ordinal), checksum);
        }
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static async Task<Dictionary<(string, string), string>> ReadApplied(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var applied = new Dictionary<(string, string), string>();
        await using var command = new NpgsqlCommand("select module, name, checksum from jobtrail_meta.migrations", connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            applied[(reader.GetString(0), reader.GetString(1))] = reader.GetString(2);
        }

        return applied;
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
