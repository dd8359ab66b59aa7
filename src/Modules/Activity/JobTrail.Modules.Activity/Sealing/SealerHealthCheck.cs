using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace JobTrail.Modules.Activity.Sealing;

/// <summary>
/// Readiness details of the activity chain: the sealing lag and whether this instance seals. A long
/// lag is degraded, never unready: the rows are safe, only their links wait. A sealer that cannot
/// reach PostgreSQL is unready until a round reaches it again; then its last error is cleared.
/// </summary>
internal sealed class SealerHealthCheck(SealerState state, ActivityOptions options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var (data, unreachable) = state.Readiness();
        if (unreachable is not null)
        {
            return Task.FromResult(unreachable.Value);
        }

        if (state.Disabled is { } why)
        {
            return Task.FromResult(HealthCheckResult.Degraded($"Activity is not being sealed: {why}", data: data));
        }

        return Task.FromResult(state.Lag > options.SealLagWarning
            ? HealthCheckResult.Degraded($"Activity rows wait {state.Lag.TotalSeconds:0} s for their links (a long-running transaction holds the horizon back?).", data: data)
            : HealthCheckResult.Healthy(state.IsActive ? "This instance seals the activity chain." : "Another instance seals the activity chain (or this one is starting).", data));
    }
}
