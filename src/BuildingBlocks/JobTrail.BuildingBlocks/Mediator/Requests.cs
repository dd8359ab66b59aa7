using MediatR;

namespace JobTrail.BuildingBlocks.Mediator;

/// <summary>A request that changes state: runs in a read-write transaction and may be audited.</summary>
public interface ICommand<out TResponse> : IRequest<TResponse>;

/// <summary>A request that only reads: runs in a read-only transaction and is never audited.</summary>
public interface IQuery<out TResponse> : IRequest<TResponse>;

/// <summary>
/// A request that acts on a workspace named in the request rather than the caller's own
/// (workspace creation, key management). The transaction runs as that workspace.
/// </summary>
public interface ITargetsWorkspace
{
    Guid TargetWorkspaceId { get; }
}

/// <summary>The scope an API key needs to send this request.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class RequiresScopeAttribute(string scope) : Attribute
{
    public string Scope { get; } = scope;
}
