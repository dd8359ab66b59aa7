using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.Activity.Domain;
using JobTrail.Modules.Activity.Features;
using Mapster;

namespace JobTrail.Modules.Activity;

/// <summary>How a stored activity becomes its response; compiled at start-up so a bad mapping stops the host.</summary>
internal static class ActivityMapping
{
    public static TypeAdapterConfig Config { get; } = Create();

    private static TypeAdapterConfig Create()
    {
        // Every response field must come from somewhere: a renamed column fails Compile(), not a request.
        var config = new TypeAdapterConfig { RequireDestinationMemberSource = true };
        config.NewConfig<ActivityEntry, ActivityResponse>()
            .Map(d => d.Metadata, s => JsonRules.FromStoredJson(s.Metadata))
            .Map(d => d.IpAddress, s => s.IpAddress == null ? null : s.IpAddress.ToString());
        return config;
    }
}
