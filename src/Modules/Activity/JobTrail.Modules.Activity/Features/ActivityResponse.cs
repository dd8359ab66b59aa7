using System.Text.Json;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.BuildingBlocks.Json;
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
    public static ActivityResponse From(ActivityEntry entry) => new(
        entry.Id, entry.WorkspaceId, entry.ActorId, entry.Action, entry.EntityType, entry.EntityId, entry.Outcome,
        JsonRules.FromStoredJson(entry.Metadata), entry.IpAddress?.ToString(), entry.UserAgent, entry.CorrelationId, entry.OccurredAt);
}
