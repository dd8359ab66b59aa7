using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>
/// Readiness details of the relay: whether this instance is the active one, the outbox backlog and
/// the age of its oldest row. A backlog never makes the service unready: events are safe in PostgreSQL.
/// A relay that cannot reach PostgreSQL does (it can deliver nothing), until it connects again.
/// </summary>
internal sealed class RelayHealthCheck(RelayState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object>
        {
            ["active"] = state.IsActive,
            ["backlog"] = state.Backlog,
            ["lagSeconds"] = Math.Round(state.OldestAge.TotalSeconds, 3),
            ["relayed"] = state.Relayed,
        };
        if (state.LastError is not null)
        {
            data["lastError"] = state.LastError;
            data["lastErrorAt"] = state.LastErrorAt!.Value;
        }

        if (state.DatabaseUnreachableSince is { } since)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy(
                $"The relay cannot reach PostgreSQL (since {since:O}); committed events wait in the outbox.", data: data));
        }

        var description = state.IsActive ? "This instance relays the outbox." : "Another instance relays the outbox (or this one is starting).";
        return Task.FromResult(HealthCheckResult.Healthy(description, data));
    }
}
