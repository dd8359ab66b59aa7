using JobTrail.BuildingBlocks.Mapping;
using JobTrail.Modules.Activity.Domain;
using JobTrail.Modules.Activity.Features;

namespace JobTrail.Modules.Activity;

/// <summary>How a stored activity becomes its response; compiled at start-up so a bad mapping stops the host.</summary>
internal static class ActivityMapping
{
    public static TypeAdapterConfig Config { get; } = ModuleMapping.For<ActivityEntry, ActivityResponse>(map => map
        .Map(d => d.Metadata, s => JsonRules.FromStoredJson(s.Metadata))
        .Map(d => d.IpAddress, s => s.IpAddress == null ? null : s.IpAddress.ToString()));
}
