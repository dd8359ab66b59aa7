using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// Puts the <see cref="DbSession"/>'s pending workspace setting in front of the EF command about to
/// run on its connection, so the setting costs no round trip of its own and no EF statement can run
/// ahead of it. A utility statement adds no result set and no row count, so EF reads its results as before.
/// SaveChanges is the exception: EF matches its statements to the results by position, so there the
/// setting goes first in a round trip of its own (as it always did).
/// </summary>
public sealed class SessionPreambleInterceptor : DbCommandInterceptor
{
    public static SessionPreambleInterceptor Instance { get; } = new();

    private SessionPreambleInterceptor()
    {
    }

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result) =>
        Prepend(command, eventData, result);

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
        PrependAsync(command, eventData, result, cancellationToken);

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result) =>
        Prepend(command, eventData, result);

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
        PrependAsync(command, eventData, result, cancellationToken);

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result) =>
        Prepend(command, eventData, result);

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default) =>
        PrependAsync(command, eventData, result, cancellationToken);

    private static async ValueTask<TResult> PrependAsync<TResult>(
        DbCommand command, CommandEventData eventData, TResult result, CancellationToken cancellationToken)
    {
        if (eventData.CommandSource == CommandSource.SaveChanges && DbSession.On(command.Connection) is { } session)
        {
            await session.EnsureWorkspaceAsync(cancellationToken);
        }

        return Prepend(command, eventData, result);
    }

    private static TResult Prepend<TResult>(DbCommand command, CommandEventData eventData, TResult result)
    {
        Prepend(command, eventData);
        return result;
    }

    private static void Prepend(DbCommand command, CommandEventData eventData)
    {
        if (eventData.CommandSource == CommandSource.SaveChanges && DbSession.On(command.Connection) is { } session)
        {
            session.EnsureWorkspace();
        }

        if (DbSession.On(command.Connection)?.TakePreamble() is { } preamble)
        {
            command.CommandText = preamble + ";\n" + command.CommandText;
        }
    }
}
