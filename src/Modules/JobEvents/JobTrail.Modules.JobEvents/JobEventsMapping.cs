using JobTrail.BuildingBlocks.Mapping;
using JobTrail.Modules.JobEvents.Features;

namespace JobTrail.Modules.JobEvents;

/// <summary>How a stored event becomes its response; compiled at start-up so a bad mapping stops the host.</summary>
internal static class JobEventsMapping
{
    public static TypeAdapterConfig Config { get; } = ModuleMapping.For<EventRecord, JobEventResponse>(map => map
        .Map(d => d.Payload, s => JsonRules.FromStoredJson(s.PayloadJson)));
}
