
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
    /// <summary>Mapped by the module's compiled configuration (<see cref="JobEventsMapping"/>): no reflection per event.</summary>
    public static JobEventResponse From(EventRecord e) => e.Adapt<JobEventResponse>(JobEventsMapping.Config);
}
