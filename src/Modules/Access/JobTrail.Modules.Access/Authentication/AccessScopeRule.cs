using JobTrail.Modules.Access.Contracts;

namespace JobTrail.Modules.Access.Authentication;

/// <summary><c>admin</c> holds every workspace scope; <c>system</c> must be held explicitly and alone reaches other workspaces.</summary>
internal sealed class AccessScopeRule : IScopeRule
{
    public bool Grants(IReadOnlySet<string> held, string required) =>
        held.Contains(required) || (required != Scopes.System && held.Contains(Scopes.Admin));

    public bool ActsOnAnyWorkspace(IReadOnlySet<string> held) => held.Contains(Scopes.System);
}
