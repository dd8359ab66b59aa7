namespace JobTrail.Modules.Activity.Contracts;

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
