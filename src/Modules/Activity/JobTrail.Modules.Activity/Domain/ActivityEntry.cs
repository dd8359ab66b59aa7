using System.Net;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.Activity.Domain;

/// <summary>One row of the activity log: who did what to which entity, how it ended, from where.</summary>
internal sealed class ActivityEntry
{
    public Guid Id { get; init; }

    /// <summary>Assigned by the database from one sequence: grows in capture order, across workspaces.</summary>
    public long Position { get; init; }

    public Guid WorkspaceId { get; init; }
    public required string ActorId { get; init; }
    public required string Action { get; init; }
    public required string EntityType { get; init; }
    public string? EntityId { get; init; }
    public ActivityOutcome Outcome { get; init; }

    /// <summary>JSON object text, already redacted.</summary>
    public string? Metadata { get; init; }

    public IPAddress? IpAddress { get; init; }
    public string? UserAgent { get; init; }
    public string? CorrelationId { get; init; }
    public DateTime OccurredAt { get; init; }

    /// <summary>The W3C traceparent of the request that did it; telemetry, outside the chain digest.</summary>
    public string? TraceParent { get; init; }
}
