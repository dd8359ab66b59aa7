using System.Text.Json;
using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Integrity;

namespace JobTrail.Modules.JobEvents.Features;

internal sealed record JobEventResponse(
    Guid Id,
    Guid JobId,
    Guid WorkspaceId,
    long Seq,
    string Type,
    Guid? StepId,
    JsonElement? Payload,
    string ActorId,
    string CorrelationId,
    DateTime OccurredAt,
    DateTime RecordedAt)
{
    public static JobEventResponse From(EventRecord e) => new(
        e.Id, e.JobId, e.WorkspaceId, e.Seq, e.Type, e.StepId, JsonRules.FromStoredJson(e.PayloadJson), e.ActorId, e.CorrelationId,
        e.OccurredAt, e.RecordedAt);
}
