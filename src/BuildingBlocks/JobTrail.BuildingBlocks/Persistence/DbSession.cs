using System.Data;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// The one connection and transaction of a command or query, shared by every module DbContext
/// it touches. The first statement pins the workspace for row-level security.
/// </summary>
public sealed class DbSession(NpgsqlDataSource dataSource, ReadReplica replica) : IAsyncDisposable
{
    private NpgsqlConnection? connection;
    private NpgsqlTransaction? transaction;
    private bool committed;
    private List<Func<Task>>? afterCommit;

    public bool IsOpen => transaction is not null;

    public bool IsReadOnly { get; private set; }

    public Guid WorkspaceId { get; private set; }

    /// <summary>True when this session reads from the replica (a read-only query that asked for it and found it up).</summary>
    public bool ReadsFromReplica { get; private set; }

    public NpgsqlConnection Connection =>
        connection ?? throw new InvalidOperationException("No database session is open: send the request through the mediator.");

    public NpgsqlTransaction Transaction =>
        transaction ?? throw new InvalidOperationException("No database session is open: send the request through the mediator.");

    public Task BeginAsync(Guid workspaceId, bool readOnly, CancellationToken cancellationToken) =>
        BeginAsync(workspaceId, readOnly, preferReplica: false, cancellationToken);

    /// <summary>
    /// The one place the data source is chosen: a read-only session that prefers the replica opens
    /// there when one is configured and answers, and on the primary otherwise.
    /// </summary>
    public async Task BeginAsync(Guid workspaceId, bool readOnly, bool preferReplica, CancellationToken cancellationToken)
    {
        if (IsOpen)
        {
            throw new InvalidOperationException("A database session is already open in this scope.");
        }

        if (readOnly && preferReplica && await replica.TryOpenAsync(cancellationToken) is { } standby)
        {
            try
            {
                ReadsFromReplica = true;
                await OpenOnAsync(standby, workspaceId, readOnly, cancellationToken);
                replica.ReportReachable();
                return;
            }
            catch (Exception ex) when (replica.ReportFailure(ex))
            {
                // A pooled connection to a replica that went away fails on first use: read from the primary.
                await EndAsync();
            }
        }

        ReadsFromReplica = false;
        await OpenOnAsync(await dataSource.OpenConnectionAsync(cancellationToken), workspaceId, readOnly, cancellationToken);
    }

    private async Task OpenOnAsync(NpgsqlConnection opened, Guid workspaceId, bool readOnly, CancellationToken cancellationToken)
    {
        connection = opened;
        transaction = await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        committed = false;
        WorkspaceId = workspaceId;
        IsReadOnly = readOnly;

        await using var batch = new NpgsqlBatch(connection, transaction);
        if (readOnly)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET TRANSACTION READ ONLY"));
        }

        batch.BatchCommands.Add(WorkspaceSetting.Command(workspaceId));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="action"/> once the transaction has committed (never if it rolls back),
    /// after the connection went back to the pool; e.g. telling other instances about the change.
    /// </summary>
    public void OnCommitted(Func<Task> action)
    {
        if (!IsOpen)
        {
            throw new InvalidOperationException("No database session is open: send the request through the mediator.");
        }

        (afterCommit ??= []).Add(action);
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        await Transaction.CommitAsync(cancellationToken);
        committed = true;
        var actions = afterCommit;
        await EndAsync();
        foreach (var action in actions ?? [])
        {
            await action();
        }
    }

    /// <summary>Rolls back whatever is uncommitted and returns the connection to the pool.</summary>
    public async Task EndAsync()
    {
        afterCommit = null;
        if (transaction is not null)
        {
            if (!committed)
            {
                try
                {
                    await transaction.RollbackAsync(CancellationToken.None);
                }
                catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException)
                {
                    // A broken connection has already lost the transaction; nothing to undo.
                }
            }

            await transaction.DisposeAsync();
            transaction = null;
        }

        if (connection is not null)
        {
            await connection.DisposeAsync();
            connection = null;
        }
    }

    public ValueTask DisposeAsync() => new(EndAsync());
}

/// <summary>The row-level security setting every tenant policy reads.</summary>
public static class WorkspaceSetting
{
    public const string Name = "app.workspace_id";

    public static NpgsqlBatchCommand Command(Guid workspaceId) =>
        new($"select set_config('{Name}', $1, true)") { Parameters = { new NpgsqlParameter { Value = workspaceId.ToString() } } };

    public static async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid workspaceId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"select set_config('{Name}', $1, true)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = workspaceId.ToString() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
