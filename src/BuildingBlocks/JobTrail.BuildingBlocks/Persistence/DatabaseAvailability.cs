using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Sockets;
using JobTrail.BuildingBlocks.Behaviors;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// Tells "PostgreSQL cannot be reached" apart from every other database error: the first is the
/// database's state (503, retry later), the rest are bugs or refusals and stay what they were.
/// </summary>
public static class DatabaseFailure
{
    private const int MaxDepth = 8;

    /// <summary>
    /// True for a connection that could not be made or broke (an <see cref="NpgsqlException"/> over a
    /// socket, I/O or timeout error, which covers refused connections and an exhausted pool), for a
    /// server that says it is going away or not accepting connections (SQLSTATE class 08, 57P01,
    /// 57P02, 57P03, 53300), and for EF Core's wrappers around either.
    /// </summary>
    public static bool IsUnreachable(Exception? exception)
    {
        for (var depth = 0; exception is not null && depth < MaxDepth; depth++)
        {
            switch (exception)
            {
                case PostgresException postgres:
                    return IsConnectionState(postgres.SqlState);
                case NpgsqlException npgsql when npgsql.InnerException is SocketException or IOException or TimeoutException:
                    return true;
                case NpgsqlException npgsql when npgsql.InnerException is NpgsqlException:
                    exception = npgsql.InnerException;
                    break;
                case DbUpdateException or RetryLimitExceededException or InvalidOperationException or AggregateException:
                    // EF Core (and Task plumbing) wrap the provider's exception; only what is inside decides.
                    exception = exception.InnerException;
                    break;
                default:
                    return false;
            }
        }

        return false;
    }

    /// <summary>Connection exceptions (class 08), shutdowns, a server still starting, no free connection slot.</summary>
    public static bool IsConnectionState(string sqlState) =>
        sqlState.StartsWith("08", StringComparison.Ordinal)
        || sqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow
            or PostgresErrorCodes.TooManyConnections;
}

/// <summary>
/// Whether PostgreSQL is reachable, as the last database call anywhere in this instance found it.
/// Components report what they see; the tracker logs each change of state once: one warning when an
/// outage is first seen, one information line when the database answers again. It never short-cuts
/// a call: every request still tries the database, so recovery is noticed by the first that succeeds.
/// </summary>
public sealed partial class DatabaseAvailability
{
    /// <summary>The configuration key of <see cref="RetryAfter"/>, in whole seconds.</summary>
    public const string RetryAfterKey = DatabaseAvailabilityOptions.Section + ":RetryAfterSeconds";

    private static readonly Meter Meter = new(PipelineMetrics.MeterName);
    private readonly Lock gate = new();
    private readonly TimeProvider clock;
    private readonly ILogger<DatabaseAvailability> logger;
    private long unreachableSinceTicks;
    private long failuresInOutage;

    public DatabaseAvailability(TimeSpan retryAfter, TimeProvider clock, ILogger<DatabaseAvailability> logger)
    {
        RetryAfter = retryAfter;
        this.clock = clock;
        this.logger = logger;
        Meter.CreateObservableGauge("jobtrail.database.reachable", () => IsReachable ? 1 : 0,
            description: "1 while PostgreSQL answers, 0 from the first failure to reach it until it answers again");
    }

    /// <summary>What a 503 tells clients to wait (<c>JobTrail:Database:RetryAfterSeconds</c>, default 5).</summary>
    public TimeSpan RetryAfter { get; }

    public bool IsReachable => Volatile.Read(ref unreachableSinceTicks) == 0;

    /// <summary>When the current outage was first seen; null while the database is reachable.</summary>
    public DateTimeOffset? UnreachableSince
    {
        get
        {
            var ticks = Volatile.Read(ref unreachableSinceTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Reports a failed database call. Answers whether it means the database cannot be reached (see
    /// <see cref="DatabaseFailure.IsUnreachable"/>); only such failures count, and only the first of
    /// an outage is logged.
    /// </summary>
    public bool ReportFailure(Exception exception, string source)
    {
        if (!DatabaseFailure.IsUnreachable(exception))
        {
            return false;
        }

        Interlocked.Increment(ref failuresInOutage);
        if (!IsReachable)
        {
            return true;
        }

        lock (gate)
        {
            if (IsReachable)
            {
                Volatile.Write(ref unreachableSinceTicks, clock.GetUtcNow().UtcTicks);
                LogUnreachable(source, Summarise(exception), (int)RetryAfter.TotalSeconds);
            }
        }

        return true;
    }

    /// <summary>Reports a database call that succeeded; ends the outage, if there was one.</summary>
    public void ReportReachable(string source)
    {
        if (IsReachable)
        {
            return;
        }

        lock (gate)
        {
            var since = Volatile.Read(ref unreachableSinceTicks);
            if (since == 0)
            {
                return;
            }

            var failures = Interlocked.Exchange(ref failuresInOutage, 0);
            Volatile.Write(ref unreachableSinceTicks, 0);
            var lasted = clock.GetUtcNow() - new DateTimeOffset(since, TimeSpan.Zero);
            LogReachable(source, Math.Round(lasted.TotalSeconds, 1), failures);
        }
    }

    /// <summary>The exception chain in one line (type and message of each), without a stack trace.</summary>
    internal static string Summarise(Exception exception)
    {
        var parts = new List<string>();
        for (var e = exception; e is not null && parts.Count < 4; e = e.InnerException)
        {
            parts.Add(e is PostgresException postgres
                ? string.Create(CultureInfo.InvariantCulture, $"{e.GetType().Name} {postgres.SqlState}: {postgres.MessageText}")
                : $"{e.GetType().Name}: {e.Message}");
        }

        return string.Join(" -> ", parts);
    }

    [LoggerMessage(EventId = 1, EventName = "DatabaseUnreachable", Level = LogLevel.Warning,
        Message = "PostgreSQL cannot be reached (first seen by {Source}: {Reason}). Requests that need it answer 503 with Retry-After {RetryAfterSeconds} s and readiness is Unhealthy until it answers again; this is logged once per outage.")]
    private partial void LogUnreachable(string source, string reason, int retryAfterSeconds);

    [LoggerMessage(EventId = 2, EventName = "DatabaseReachable", Level = LogLevel.Information,
        Message = "PostgreSQL is reachable again (seen by {Source}) after {OutageSeconds} s; {Failures} database call(s) failed meanwhile.")]
    private partial void LogReachable(string source, double outageSeconds, long failures);
}

/// <summary><c>JobTrail:Database:RetryAfterSeconds</c>: what a 503 tells clients to wait while PostgreSQL is away.</summary>
public sealed class DatabaseAvailabilityOptions
{
    public const string Section = "JobTrail:Database";

    [System.ComponentModel.DataAnnotations.Range(1, 3600, ErrorMessage = "JobTrail__Database__RetryAfterSeconds must be between 1 and 3600.")]
    public int RetryAfterSeconds { get; set; } = 5;
}
