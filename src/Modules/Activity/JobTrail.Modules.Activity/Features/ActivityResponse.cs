using JobTrail.Modules.Activity.Contracts;
using JobTrail.Modules.Activity.Domain;

namespace JobTrail.Modules.Activity.Features;

internal sealed record ActivityResponse(
    Guid Id,
    Guid WorkspaceId,
    string ActorId,
    string Action,
    string EntityType,
    string? EntityId,
    ActivityOutcome Outcome,
    JsonElement? Metadata,
    string? IpAddress,
    string? UserAgent,
    string? CorrelationId,
    DateTime OccurredAt)
{
    /// <summary>Mapped by the module's compiled configuration (<see cref="ActivityMapping"/>).</summary>
    public static ActivityResponse From(ActivityEntry entry) => entry.Adapt<ActivityResponse>(ActivityMapping.Config);
}
