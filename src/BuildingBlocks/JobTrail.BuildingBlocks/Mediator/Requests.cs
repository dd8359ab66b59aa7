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

/// <summary>Commands marked with this are captured in the activity log by the pipeline.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class AuditedAttribute(string action, string entityType) : Attribute
{
    public string Action { get; } = action;
    public string EntityType { get; } = entityType;
}

/// <summary>A command deliberately left out of the activity log, with the reason.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class NotAuditedAttribute(string reason) : Attribute
{
    public string Reason { get; } = reason;
}

/// <summary>
/// Tells the activity capture which entity an audited command acted on. The response is null
/// when the command was refused (validation, authorization, state rule).
/// </summary>
public interface IAuditedCommand<in TResponse>
{
    string? GetAuditEntityId(TResponse? response);

    IReadOnlyDictionary<string, object?>? GetAuditMetadata(TResponse? response) => null;
}
