using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// For a request that opens no transaction of its own because another writer commits its writes (a
/// client emit, committed by the group writer): what else must commit in that same transaction, such
/// as its activity row. One per request scope; the writer runs each statement under the request's
/// workspace and marks the request <see cref="Committed"/> once its writes are durable.
/// </summary>
public sealed class JoinedWrites
{
    private List<Func<NpgsqlBatchCommand>>? statements;

    /// <summary>True once the pipeline decided that this request's writes are committed by another writer.</summary>
    public bool IsActive { get; private set; }

    /// <summary>The workspace the request authenticated as: the only one its writes may be made under.</summary>
    public Guid WorkspaceId { get; private set; }

    /// <summary>Set by the writer after the commit that holds this request's writes (never for a request that wrote nothing).</summary>
    public bool Committed { get; private set; }

    /// <summary>Each statement is built anew for every attempt: a refused group is written again request by request.</summary>
    public IReadOnlyList<Func<NpgsqlBatchCommand>> Statements => statements ?? (IReadOnlyList<Func<NpgsqlBatchCommand>>)[];

    public void Activate(Guid workspaceId)
    {
        if (IsActive)
        {
            throw new InvalidOperationException("The request's writes are already joined to a writer.");
        }

        IsActive = true;
        WorkspaceId = workspaceId;
    }

    public void Add(Func<NpgsqlBatchCommand> statement)
    {
        if (!IsActive)
        {
            throw new InvalidOperationException("The request has a transaction of its own: write in it.");
        }

        (statements ??= []).Add(statement);
    }

    public void MarkCommitted() => Committed = true;
}
