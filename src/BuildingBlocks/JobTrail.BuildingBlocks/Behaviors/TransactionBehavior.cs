using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Persistence;
using MediatR;

namespace JobTrail.BuildingBlocks.Behaviors;

/// <summary>
/// Opens the request's single connection and transaction (read-only for queries), pins the
/// workspace for row-level security, and commits only if the handler (and everything it sent to
/// other modules) succeeded. Nested requests join the open transaction. A client emit opens none:
/// the group writer commits its events and everything it joins to them (<see cref="JoinedWrites"/>).
/// </summary>
public sealed class TransactionBehavior<TRequest, TResponse>(DbSession session, RequestContext context, JoinedWrites joined)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        var isCommand = RequestTraits<TRequest>.IsCommand;
        if (session.IsOpen || !(isCommand || RequestTraits<TRequest>.IsQuery))
        {
            return await next();
        }

        var workspace = request is ITargetsWorkspace targeted ? targeted.TargetWorkspaceId : context.RequireWorkspace();
        if (isCommand && RequestTraits<TRequest>.IsEmit)
        {
            // One commit per group, not per request: the request's own writes ride in the writer's transaction.
            joined.Activate(workspace);
            return await next();
        }

        await session.BeginAsync(workspace, readOnly: !isCommand, preferReplica: RequestTraits<TRequest>.ReadsFromReplica, cancellationToken);
        try
        {
            var response = await next();
            await session.CommitAsync(cancellationToken);
            return response;
        }
        finally
        {
            await session.EndAsync();
        }
    }
}
