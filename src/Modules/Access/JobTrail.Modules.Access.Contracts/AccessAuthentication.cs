namespace JobTrail.Modules.Access.Contracts;

/// <summary>The authentication scheme under which Access authenticates API keys (the host's fallback policy names it).</summary>
public static class AccessAuthentication
{
    public const string Scheme = "ApiKey";
}
