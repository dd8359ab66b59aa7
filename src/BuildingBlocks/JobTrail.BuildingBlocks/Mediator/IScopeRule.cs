namespace JobTrail.BuildingBlocks.Mediator;

/// <summary>
/// How a caller's scopes satisfy a request's <see cref="RequiresScopeAttribute"/>. The pipeline only
/// compares strings; the module that issues keys (Access) says what its scopes imply.
/// </summary>
public interface IScopeRule
{
    /// <summary>True when <paramref name="held"/> grants <paramref name="required"/>.</summary>
    bool Grants(IReadOnlySet<string> held, string required);

    /// <summary>True when <paramref name="held"/> may act on any workspace, not only the key's own.</summary>
    bool ActsOnAnyWorkspace(IReadOnlySet<string> held);
}
