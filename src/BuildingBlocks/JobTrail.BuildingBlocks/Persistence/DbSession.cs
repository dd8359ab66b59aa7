using System.Data;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// The one connection and transaction of a command or query, shared by every module DbContext
/// it touches. Nothing is sent when it opens: the workspace setting for row-level security travels
/// in front of the first statement (<see cref="SessionPreambleInterceptor"/> for EF, <see cref="CreateBatch"/>
/// for raw batches), so BEGIN, the setting and that statement cost one round trip. A read-only session
/// opens no transaction block at all: every statement carries its own setting and runs in the implicit
/// transaction of its batch, so a query is one round trip with no COMMIT. Statements queued with
/// <see cref="SendWithCommit"/> (a command's activity row) travel in the COMMIT's batch.
/// </summary>
public sealed class DbSession(NpgsqlDataSource dataSource, ReadReplica replica) : IAsyncDisposable
{
    private NpgsqlConnection? connection;
    private NpgsqlTransaction? transaction;
    private bool committed;
    private string? preamble;
    private List<Func<Task>>? afterCommit;
    private List<NpgsqlBatchCommand>? withCommit;

    public bool IsOpen => connection is not null;

    public bool IsReadOnly { get; private set; }

    public Guid WorkspaceId { get; private set; }

    /// <summary>True when this session reads from the replica (a read-only query that asked for it and found it up).</summary>
    public bool ReadsFromReplica { get; private set; }

    /// <summary>
    /// The session's connection for a raw command, once the workspace setting is in place: a read-only
    /// session never is (use <see cref="CreateBatch"/>), a command's is after its first statement or
    /// <see cref="EnsureWorkspaceAsync"/>. No statement may reach the connection ahead of the setting.
    /// </summary>
    public NpgsqlConnection Connection => preamble is null
        ? Opened
        : throw new InvalidOperationException("The workspace setting has not been sent yet: use CreateBatch() or await EnsureWorkspaceAsync() first.");

    /// <summary>The command's transaction (none for a read-only session), for a raw command on <see cref="Connection"/>.</summary>
    public NpgsqlTransaction? Transaction => preamble is null ? transaction : throw new InvalidOperationException(
        "The workspace setting has not been sent yet: use CreateBatch() or await EnsureWorkspaceAsync() first.");

    /// <summary>
    /// For a DbContext only: EF's commands on it go through <see cref="SessionPreambleInterceptor"/>,
    /// which puts the pending setting in front of them.
    /// </summary>
    public NpgsqlConnection ConnectionForInterceptedCommands => Opened;

    /// <summary>See <see cref="ConnectionForInterceptedCommands"/>; null in a read-only session.</summary>
    public NpgsqlTransaction? TransactionForInterceptedCommands => Opened is not null ? transaction : null;

    private NpgsqlConnection Opened =>
        connection ?? throw new InvalidOperationException("No database session is open: send the request through the mediator.");

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
                // A pooled connection to a replica that went away fails on first use: find out here, where
                // the primary can still take over (one round trip, the price of the replica's failover).
                await using (var probe = CreateBatch())
                {
                    await probe.ExecuteNonQueryAsync(cancellationToken);
                }

                replica.ReportReachable();
                return;
            }
            catch (Exception ex) when (replica.ReportFailure(ex))
            {
                await EndAsync();
            }
        }

        ReadsFromReplica = false;
        await OpenOnAsync(await dataSource.OpenConnectionAsync(cancellationToken), workspaceId, readOnly, cancellationToken);
    }

    private async Task OpenOnAsync(NpgsqlConnection opened, Guid workspaceId, bool readOnly, CancellationToken cancellationToken)
    {
        connection = opened;
        committed = false;
        WorkspaceId = workspaceId;
        IsReadOnly = readOnly;
        Sessions.AddOrUpdate(opened, this);
        // Npgsql sends BEGIN with the next statement; a read-only session needs no block (see the class summary).
        transaction = readOnly ? null : await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
        preamble = readOnly ? WorkspaceSetting.ReadOnlyPreamble(workspaceId) : WorkspaceSetting.Preamble(workspaceId);
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<NpgsqlConnection, DbSession> Sessions = new();

    /// <summary>The session open on <paramref name="connection"/>, if any (how the EF interceptor finds it).</summary>
    internal static DbSession? On(System.Data.Common.DbConnection? connection) =>
        connection is NpgsqlConnection npgsql && Sessions.TryGetValue(npgsql, out var session) && session.connection == npgsql ? session : null;

    /// <summary>
    /// The SQL that must run before the next statement, and forgets it unless the session is
    /// read-only (there every statement runs in its own implicit transaction and needs it again).
    /// </summary>
    internal string? TakePreamble()
    {
        var pending = preamble;
        if (!IsReadOnly)
        {
            preamble = null;
        }

        return pending;
    }

    /// <summary>The synchronous <see cref="EnsureWorkspaceAsync"/>, for EF's synchronous SaveChanges.</summary>
    internal void EnsureWorkspace()
    {
        if (!IsReadOnly && preamble is not null)
        {
            using var batch = CreateBatch();
            batch.ExecuteNonQuery();
        }
    }

    /// <summary>A batch on the session with the pending workspace setting in front of the commands the caller adds.</summary>
    public NpgsqlBatch CreateBatch()
    {
        var batch = new NpgsqlBatch(Opened, transaction);
        if (TakePreamble() is { } pending)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand(pending));
        }

        return batch;
    }

    /// <summary>A batch of one statement (<see cref="Sql.Statement"/>), behind the pending workspace setting.</summary>
    public NpgsqlBatch CreateBatch(string sql, params object[] values)
    {
        var batch = CreateBatch();
        batch.BatchCommands.Add(Sql.Statement(sql, values));
        return batch;
    }

    /// <summary>Sends the pending workspace setting on its own (a round trip) before a raw command; a no-op once it was sent.</summary>
    public async Task EnsureWorkspaceAsync(CancellationToken cancellationToken)
    {
        if (IsReadOnly)
        {
            throw new InvalidOperationException("A read-only session has no transaction to hold the setting: use CreateBatch().");
        }

        if (preamble is not null)
        {
            await using var batch = CreateBatch();
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
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

    /// <summary>
    /// Queues <paramref name="command"/> to be sent with the COMMIT, in the same batch and the same
    /// transaction: it costs no round trip of its own, and if it fails nothing of the command commits.
    /// Nothing in the command can read what it writes.
    /// </summary>
    public void SendWithCommit(NpgsqlBatchCommand command)
    {
        if (!IsOpen || IsReadOnly)
        {
            throw new InvalidOperationException("Only a command's open session commits: send the request through the mediator.");
        }

        (withCommit ??= []).Add(command);
    }

    public async Task CommitAsync(CancellationToken cancellationToken)
    {
        _ = Opened;
        if (transaction is not null && withCommit is { Count: > 0 } queued)
        {
            await CommitWithAsync(queued, cancellationToken);
        }
        else if (transaction is not null && preamble is null)
        {
            await transaction.CommitAsync(cancellationToken);
        }

        // A read-only session has nothing to commit; a command that sent nothing ends its unsent BEGIN unsent.
        committed = true;
        var actions = afterCommit;
        await EndAsync();
        foreach (var action in actions ?? [])
        {
            await action();
        }
    }

    /// <summary>
    /// One batch: the pending workspace setting (and Npgsql's BEGIN) if nothing was sent yet, the queued
    /// statements, then COMMIT. Npgsql sends a batch with a single Sync, so a failing statement makes the
    /// server skip the rest, COMMIT included, and the transaction is left failed for <see cref="EndAsync"/>
    /// to roll back. Npgsql reads the transaction's state from the server's ReadyForQuery status, so after
    /// a COMMIT that ran it reports the transaction completed: disposing it sends no ROLLBACK, and the
    /// connection goes back to the pool idle; the transaction object is not committed again (it would refuse).
    /// </summary>
    private async Task CommitWithAsync(List<NpgsqlBatchCommand> queued, CancellationToken cancellationToken)
    {
        withCommit = null;
        await using var batch = CreateBatch();
        foreach (var command in queued)
        {
            batch.BatchCommands.Add(command);
        }

        batch.BatchCommands.Add(new NpgsqlBatchCommand("COMMIT"));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Rolls back whatever is uncommitted and returns the connection to the pool.</summary>
    public async Task EndAsync()
    {
        afterCommit = null;
        withCommit = null;
        preamble = null;
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
            Sessions.Remove(connection);
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

    /// <summary>
    /// What a command's transaction runs before its first statement. A utility statement returns no
    /// result set, so prepended to a query it changes neither its results nor its row counts. The
    /// value is a Guid's canonical text (hex digits and dashes only), safe to inline.
    /// </summary>
    public static string Preamble(Guid workspaceId) =>
        $"SET LOCAL {Name} = '{workspaceId:D}'";

    /// <summary>
    /// What every statement of a read-only session runs before it, in the same implicit transaction:
    /// read-only, and the workspace. A DO block returns no result set and, unlike SET LOCAL outside a
    /// transaction block, raises no warning.
    /// </summary>
    public static string ReadOnlyPreamble(Guid workspaceId) =>
        $"do $$begin perform set_config('transaction_read_only', 'on', true); perform set_config('{Name}', '{workspaceId:D}', true); end$$";

    public static async Task ApplyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid workspaceId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"select set_config('{Name}', $1, true)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = workspaceId.ToString() });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
