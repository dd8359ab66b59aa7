namespace JobTrail.BuildingBlocks.Valkey;

/// <summary>
/// Valkey keys that every instance shares. The part in braces is the hash tag: keys one script touches
/// together share it, so on a cluster they live in one hash slot (a script may only touch keys of one slot).
/// </summary>
public static class SharedKeys
{
    /// <summary>An API key's token bucket (a hash), shared by every instance.</summary>
    public static string RateLimit(Guid apiKeyId) => $"jobtrail:{{key:{apiKeyId:N}}}:rate";

    /// <summary>A workspace's live-stream leases (a sorted set scored by expiry).</summary>
    public static string StreamLeases(Guid workspaceId) => $"jobtrail:{{ws:{workspaceId:N}}}:streams";

    /// <summary>An API key's live-stream leases in a workspace; same hash tag as <see cref="StreamLeases"/>, so one script counts both.</summary>
    public static string StreamLeases(Guid workspaceId, Guid apiKeyId) => $"jobtrail:{{ws:{workspaceId:N}}}:streams:key:{apiKeyId:N}";
}
