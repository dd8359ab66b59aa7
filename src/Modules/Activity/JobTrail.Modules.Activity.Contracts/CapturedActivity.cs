namespace JobTrail.Modules.Activity.Contracts;

public enum ActivityOutcome
{
    Succeeded,
    Failed,
    Denied,
}

/// <summary>One "who did what" fact, as the pipeline sees it; who and from where come from the request context.</summary>
public sealed record CapturedActivity(
    string Action,
    string EntityType,
    string? EntityId,
    ActivityOutcome Outcome,
    IReadOnlyDictionary<string, object?>? Metadata);

/// <summary>Where the activity capture behaviors write; implemented by the Activity module.</summary>
public interface IActivityCapture
{
    /// <summary>Writes inside the command's open transaction: it commits or rolls back with the command.</summary>
    Task RecordInTransactionAsync(CapturedActivity activity, CancellationToken cancellationToken);

    /// <summary>Writes a refused attempt in its own short transaction (the command's has rolled back).</summary>
    Task RecordRefusalAsync(CapturedActivity activity, CancellationToken cancellationToken);

    /// <summary>
    /// For a command whose writes another writer commits (a client emit, committed by the group writer):
    /// the row joins that writer's transaction, so it exists exactly when the command's writes do.
    /// </summary>
    void RecordInJoinedTransaction(CapturedActivity activity)
    {
    }

    /// <summary>A success that wrote nothing with its writer (an idempotent replay): recorded in a short transaction of its own.</summary>
    Task RecordAloneAsync(CapturedActivity activity, CancellationToken cancellationToken) => Task.CompletedTask;
}
