namespace JobTrail.BuildingBlocks;

/// <summary>A row that belongs to one workspace (its table has row-level security on <c>workspace_id</c>).</summary>
public interface IWorkspaceOwned
{
    Guid WorkspaceId { get; }
}
