using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Mediator;
using MediatR;

namespace JobTrail.BuildingBlocks.Behaviors;

/// <summary>
/// Checks the scope a request declares against the caller's key, by the <see cref="IScopeRule"/> of the
/// module that issues keys. Requests that act on another workspace need a key that may act on any
/// workspace, or the declared scope within that same workspace.
/// Module-to-module requests (no scope, neither command nor query) run inside an already
/// authorized request and pass.
/// </summary>
public sealed class AuthorizationBehavior<TRequest, TResponse>(RequestContext context, IScopeRule scopes)
    : IPipelineBehavior<TRequest, TResponse>
{
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        var scope = RequestTraits<TRequest>.RequiredScope;
        if (scope is null)
        {
            if (RequestTraits<TRequest>.IsCommand || RequestTraits<TRequest>.IsQuery)
            {
                throw new InvalidOperationException($"{typeof(TRequest).Name} declares no scope.");
            }

            return next();
        }

        var workspace = context.RequireWorkspace();
        var targeted = request as ITargetsWorkspace;
        if (targeted is not null && scopes.ActsOnAnyWorkspace(context.Scopes))
        {
            return next();
        }

        if (!scopes.Grants(context.Scopes, scope))
        {
            throw new ForbiddenException($"This API key lacks the '{scope}' scope.", "missing_scope");
        }

        if (targeted is not null && targeted.TargetWorkspaceId != workspace)
        {
            throw new ForbiddenException("This API key may only act on its own workspace.", "other_workspace");
        }

        return next();
    }
}
