using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>
/// Readiness details of the relay: whether this instance relays any partition and how many, the outbox backlog and
/// the age of its oldest row, parked and held rows, and the last error until a batch succeeds. A
/// backlog never makes the service unready: events are safe in PostgreSQL. Parked rows make it
/// Degraded (still ready) until an operator re-drives them;
/// a relay that cannot reach PostgreSQL makes it Unhealthy until it connects again.
/// </summary>
internal sealed class RelayHealthCheck(RelayState state) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (data, unreachable) = state.Readiness();
        if (unreachable is not null)
        {
            return Task.FromResult(unreachable.Value);
        }

        var description = state.IsActive
            ? $"This instance relays {state.Partitions.Count} partition(s) of the outbox."
            : "Other instances relay the outbox (or this one is starting).";
        if (state.Parked > 0)
        {
            return Task.FromResult(HealthCheckResult.Degraded(
                $"{description} {state.Parked} event(s) are in parked outbox rows and {state.Held} held behind them; their jobs' live events come from PostgreSQL until they are re-driven (docs/delivery.md).",
                data: data));
        }

        return Task.FromResult(HealthCheckResult.Healthy(description, data));
    }
}
