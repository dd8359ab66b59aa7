using JobTrail.BuildingBlocks.Mapping;
using JobTrail.Modules.Access.Features.CreateApiKey;
using JobTrail.Modules.Access.Features.CreateWorkspace;
using JobTrail.Modules.Access.Features.ListApiKeys;
using JobTrail.Modules.Access.Persistence;

namespace JobTrail.Modules.Access;

/// <summary>How stored workspaces and keys become responses; compiled at start-up so a bad mapping stops the host.</summary>
internal static class AccessMapping
{
    /// <summary>The map-time parameter that carries a new key's plaintext, which is never stored.</summary>
    public const string Plaintext = "plaintext";

    public static TypeAdapterConfig Config { get; } = ModuleMapping.Create(config =>
    {
        config.NewConfig<Workspace, WorkspaceResponse>()
            .Map(d => d.Id, s => s.WorkspaceId);
        config.NewConfig<ApiKey, ApiKeyResponse>();
        config.NewConfig<ApiKey, CreatedApiKeyResponse>()
            .Map(d => d.Key, _ => (string)MapContext.Current!.Parameters[Plaintext]);
    });

    /// <summary>The one response that shows the plaintext key.</summary>
    public static CreatedApiKeyResponse ToCreatedResponse(this ApiKey key, string plaintext) =>
        key.BuildAdapter(Config).AddParameters(Plaintext, plaintext).AdaptToType<CreatedApiKeyResponse>();
}
