using JobTrail.BuildingBlocks.Integrity;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Verify;
using Npgsql;

namespace JobTrail.IntegrationTests.Integrity;

/// <summary>Playing the database owner outside the service: tampering with chains, and auditing them with the tool.</summary>
internal static class ChainTestSupport
{
    private static readonly byte[] TestKey = Convert.FromBase64String(JobTrailApp.IntegrityKey);

    /// <summary>The keys the test hosts sign with.</summary>
    public static IntegrityKeyRing Keys { get; } = new(new IntegrityKey(IntegrityKey.DeriveId(TestKey), TestKey));

    /// <summary>A different secret under the same key id: what a forger without the real key can do.</summary>
    public static IntegrityKey WrongKey { get; } = new(IntegrityKey.DeriveId(TestKey), Enumerable.Repeat((byte)0x5A, 32).ToArray());

    /// <summary>The auditor's tool on this fixture's database, as the owner role.</summary>
    public static ChainAudit Audit(this JobTrailFixture fixture) => new(fixture.App.OwnerConnectionString, Keys);

    /// <summary>
    /// As the owner, in one transaction pinned to <paramref name="workspace"/>: switch off the
    /// append-only trigger of <paramref name="table"/>, run the statements, switch it back on.
    /// </summary>
    public static async Task TamperAsync(this JobTrailFixture fixture, Guid workspace, string table, string trigger, params (string Sql, object[] Values)[] statements)
    {
        await using var connection = new NpgsqlConnection(fixture.App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await RunAsync(connection, transaction, "select set_config('app.workspace_id', $1, true)", workspace.ToString());
        await RunAsync(connection, transaction, $"alter table {table} disable trigger {trigger}");
        foreach (var (sql, values) in statements)
        {
            await RunAsync(connection, transaction, sql, values);
        }

        await RunAsync(connection, transaction, $"alter table {table} enable trigger {trigger}");
        await transaction.CommitAsync();
    }

    public static (string, object[]) Sql(string sql, params object[] values) => (sql, values);

    /// <summary>One row read as the owner, pinned to <paramref name="workspace"/>.</summary>
    public static async Task<T> OwnerRowAsync<T>(this JobTrailFixture fixture, Guid workspace, string sql, Func<NpgsqlDataReader, T> read, params object[] values)
    {
        await using var connection = new NpgsqlConnection(fixture.App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await RunAsync(connection, transaction, "select set_config('app.workspace_id', $1, true)", workspace.ToString());
        await using var command = Command(connection, transaction, sql, values);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no row for: {sql}");
        return read(reader);
    }

    private static async Task RunAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, params object[] values)
    {
        await using var command = Command(connection, transaction, sql, values);
        await command.ExecuteNonQueryAsync();
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, object[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }
}
