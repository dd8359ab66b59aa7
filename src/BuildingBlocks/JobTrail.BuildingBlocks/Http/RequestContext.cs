using JobTrail.BuildingBlocks.Errors;

namespace JobTrail.BuildingBlocks.Http;

/// <summary>Who is calling and from where: filled once per HTTP request, read by the pipeline.</summary>
public sealed class RequestContext
{
    private static readonly IReadOnlySet<string> NoScopes = new HashSet<string>();

    public Guid? WorkspaceId { get; private set; }
    public Guid? ApiKeyId { get; private set; }
    public string? ActorId { get; private set; }
    public IReadOnlySet<string> Scopes { get; private set; } = NoScopes;
    public string? IpAddress { get; set; }
    public string? UserAgent { get; set; }
    public string CorrelationId { get; set; } = Guid.NewGuid().ToString("N");

    public bool IsAuthenticated => WorkspaceId is not null;

    public Guid RequireWorkspace() =>
        WorkspaceId ?? throw new ForbiddenException("The request is not authenticated to a workspace.");

    public string RequireActor() => ActorId ?? "anonymous";

    public void Authenticate(Guid workspaceId, Guid apiKeyId, string actorId, IEnumerable<string> scopes)
    {
        WorkspaceId = workspaceId;
        ApiKeyId = apiKeyId;
        ActorId = actorId;
        Scopes = new HashSet<string>(scopes, StringComparer.Ordinal);
    }
}
