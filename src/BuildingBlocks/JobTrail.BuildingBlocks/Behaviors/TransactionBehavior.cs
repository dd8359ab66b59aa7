using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Persistence;
using MediatR;

namespace JobTrail.BuildingBlocks.Behaviors;

/// <summary>
/// Opens the request's single connection and transaction (read-only for queries), pins the
/// workspace for row-level security, and commits only if the handler (and everything it sent to
/// other modules) succeeded. Nested requests join the open transaction.
/// </summary>
public sealed class TransactionBehavior<TRequest, TResponse>(DbSession session, RequestContext context)
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
