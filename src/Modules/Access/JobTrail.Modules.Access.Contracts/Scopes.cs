namespace JobTrail.Modules.Access.Contracts;

/// <summary>The scopes an API key may hold: Access issues them, every module names them in <c>[RequiresScope]</c>.</summary>
public static class Scopes
{
    public const string JobsRead = "jobs:read";
    public const string JobsWrite = "jobs:write";
    public const string EventsRead = "events:read";
    public const string EventsWrite = "events:write";
    public const string ActivityRead = "activity:read";
    public const string ActivityWrite = "activity:write";
    public const string Admin = "admin";
    public const string System = "system";

    /// <summary>Scopes that may be granted to a workspace key; <c>system</c> only comes from bootstrap.</summary>
    public static readonly IReadOnlySet<string> Grantable = new HashSet<string>(StringComparer.Ordinal)
    {
        JobsRead, JobsWrite, EventsRead, EventsWrite, ActivityRead, ActivityWrite, Admin,
    };

    public static readonly IReadOnlySet<string> All = new HashSet<string>(Grantable, StringComparer.Ordinal) { System };
}
