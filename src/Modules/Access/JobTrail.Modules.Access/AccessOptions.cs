namespace JobTrail.Modules.Access;

/// <summary>
/// <c>JobTrail:Access</c>: <c>KeyCacheMaxAge</c>, the longest a verified API key is trusted without
/// reading it again (default five seconds; zero turns the cache off). Revocation evicts at once on
/// the revoking instance and through Valkey on the others; this age is the bound when that signal
/// is lost. Bound and validated at start-up (<see cref="AccessModule"/>).
/// </summary>
internal sealed class AccessOptions
{
    public const string Section = "JobTrail:Access";

    /// <summary>The most a cached key may lag a revocation whose signal was lost.</summary>
    public static readonly TimeSpan MaxKeyCacheAge = TimeSpan.FromSeconds(60);

    public TimeSpan KeyCacheMaxAge { get; set; } = TimeSpan.FromSeconds(5);
}
