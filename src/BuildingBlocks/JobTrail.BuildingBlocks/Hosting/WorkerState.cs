using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobTrail.BuildingBlocks.Hosting;

/// <summary>
/// What a background worker that one instance at a time runs (the event relay, the activity sealer)
/// last saw: whether this instance is the active one, its last error until a round succeeds, and since
/// when it cannot reach PostgreSQL. Its readiness check starts from <see cref="Readiness"/>.
/// </summary>
public abstract class WorkerState
{
    /// <summary>Whether this instance does the work now.</summary>
    public bool IsActive { get; set; }

    public string? LastError { get; private set; }

    public DateTime? LastErrorAt { get; private set; }

    /// <summary>Since when the worker cannot reach PostgreSQL; null once it reaches it again.</summary>
    public DateTime? DatabaseUnreachableSince { get; set; }

    public void RecordError(string error, DateTime? at = null)
    {
        LastError = error;
        LastErrorAt = at ?? DateTime.UtcNow;
    }

    /// <summary>A round went through without any error: what went wrong before is over.</summary>
    public void ClearError()
    {
        LastError = null;
        LastErrorAt = null;
    }

    /// <summary>
    /// The readiness details (<c>active</c>, then the worker's own, then the last error) and, while the
    /// database cannot be reached, the Unhealthy result that says so; otherwise null and the check decides.
    /// </summary>
    protected (Dictionary<string, object> Data, HealthCheckResult? Unreachable) Readiness(
        string worker, string whileUnreachable, params (string Key, object? Value)[] details)
    {
        var data = new Dictionary<string, object> { ["active"] = IsActive };
        foreach (var (key, value) in details)
        {
            if (value is not null)
            {
                data[key] = value;
            }
        }

        if (LastError is not null)
        {
            data["lastError"] = LastError;
            data["lastErrorAt"] = LastErrorAt!.Value;
        }

        return (data, DatabaseUnreachableSince is { } since
            ? HealthCheckResult.Unhealthy($"{worker} cannot reach PostgreSQL (since {since:O}); {whileUnreachable}", data: data)
            : null);
    }
}
