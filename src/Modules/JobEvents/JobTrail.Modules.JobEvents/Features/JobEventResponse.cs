
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

    /// <summary>
    /// The event's JSON as the REST API returns it: what a live stream's frame and the relay's stream entry carry, byte
    /// for byte (<see cref="StoredEvents"/> keeps it once made).
    /// </summary>
    public static string Render(EventRecord e) => JsonSerializer.Serialize(From(e), JsonDefaults.Options);
}
