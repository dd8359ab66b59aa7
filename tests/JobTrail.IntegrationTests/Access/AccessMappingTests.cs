using JobTrail.Modules.Access;
using JobTrail.Modules.Access.Features.CreateWorkspace;
using JobTrail.Modules.Access.Features.ListApiKeys;
using JobTrail.Modules.Access.Persistence;
using Mapster;

namespace JobTrail.IntegrationTests.Access;

// Access has no unit-test project of its own; this needs no database, only the compiled mapping.
public sealed class AccessMappingTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static ApiKey Key() => new()
    {
        Id = Guid.CreateVersion7(), WorkspaceId = Guid.CreateVersion7(), Name = "ci", ActorId = "runner:build-7",
        Scopes = ["jobs:read", "jobs:write"], SecretHash = [1, 2, 3], CreatedAt = T0, CreatedBy = "user:42",
    };

    [Fact]
    public void The_access_mapping_compiles_and_a_workspace_keeps_its_id()
    {
        AccessMapping.Config.Compile();
        var workspace = new Workspace { WorkspaceId = Guid.CreateVersion7(), Slug = "acme", Name = "Acme", CreatedAt = T0, CreatedBy = "system:bootstrap" };

        var response = workspace.Adapt<WorkspaceResponse>(AccessMapping.Config);

        Assert.Equal(new WorkspaceResponse(workspace.WorkspaceId, "acme", "Acme", T0, "system:bootstrap"), response);
    }

    [Fact]
    public void A_listed_key_carries_its_fields_and_a_new_key_carries_its_plaintext_once()
    {
        var key = Key();

        var listed = key.Adapt<ApiKeyResponse>(AccessMapping.Config);
        var created = key.ToCreatedResponse("jt_plaintext");

        Assert.Equal((key.Id, "ci", "runner:build-7", "user:42", (DateTime?)null), (listed.Id, listed.Name, listed.ActorId, listed.CreatedBy, listed.RevokedAt));
        Assert.Equal(["jobs:read", "jobs:write"], listed.Scopes);
        Assert.Equal((key.Id, "jt_plaintext", "ci"), (created.Id, created.Key, created.Name));
    }
}
