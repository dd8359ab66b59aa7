using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.BuildingBlocks.Persistence;

/// <summary>
/// The optional streaming replica (<c>JobTrail:PostgresReplica</c>) that list and audit queries read
/// from. When it cannot be reached those queries go to the primary instead: the outage is logged
/// once, readiness reports it Degraded, and the replica is tried again after <see cref="RetryInterval"/>
/// (not on every request, so an outage costs no connect attempt per list).
/// </summary>
public sealed partial class ReadReplica : IAsyncDisposable
{
    /// <summary>How long reads stay on the primary after the replica failed, before it is tried again.</summary>
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private readonly Lock gate = new();
    private readonly TimeProvider clock;
    private readonly ILogger<ReadReplica> logger;
    private long downSinceTicks;
    private long retryAtTicks;

    public ReadReplica(DatabaseOptions options, TimeProvider clock, ILogger<ReadReplica> logger)
    {
        this.clock = clock;
        this.logger = logger;
        DataSource = options.HasReplica ? new NpgsqlDataSourceBuilder(options.ReplicaConnectionString).Build() : null;
    }

    /// <summary>The replica's pool; null when no replica is configured.</summary>
    public NpgsqlDataSource? DataSource { get; }

    public bool IsConfigured => DataSource is not null;

    /// <summary>When the current replica outage was first seen; null while it answers (or is not configured).</summary>
    public DateTimeOffset? DownSince
    {
        get
        {
            var ticks = Volatile.Read(ref downSinceTicks);
            return ticks == 0 ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>
    /// A connection to the replica, or null when none is configured, it is known to be down (until the
    /// retry interval has passed) or it cannot be reached now; the caller then uses the primary.
    /// </summary>
    public async Task<NpgsqlConnection?> TryOpenAsync(CancellationToken cancellationToken)
    {
        if (DataSource is null || (DownSince is not null && clock.GetUtcNow().UtcTicks < Volatile.Read(ref retryAtTicks)))
        {
            return null;
        }

        try
        {
            return await DataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (Exception ex) when (ReportFailure(ex))
        {
            return null;
        }
    }

    /// <summary>
    /// Reports a failed replica call; true when it means the replica cannot be reached (only the first
    /// failure of an outage is logged, and idle pooled connections to it are dropped).
    /// </summary>
    public bool ReportFailure(Exception exception)
    {
        if (DataSource is null || !DatabaseFailure.IsUnreachable(exception))
        {
            return false;
        }

        var now = clock.GetUtcNow();
        Volatile.Write(ref retryAtTicks, (now + RetryInterval).UtcTicks);
        lock (gate)
        {
            if (Volatile.Read(ref downSinceTicks) == 0)
            {
                Volatile.Write(ref downSinceTicks, now.UtcTicks);
                DataSource.Clear();
                LogDown(DatabaseAvailability.Summarise(exception), (int)RetryInterval.TotalSeconds);
            }
        }

        return true;
    }

    /// <summary>Reports a replica call that succeeded; ends the outage, if there was one.</summary>
    public void ReportReachable()
    {
        if (Volatile.Read(ref downSinceTicks) == 0)
        {
            return;
        }

        lock (gate)
        {
            var since = Volatile.Read(ref downSinceTicks);
            if (since != 0)
            {
                Volatile.Write(ref downSinceTicks, 0);
                LogUp(Math.Round((clock.GetUtcNow() - new DateTimeOffset(since, TimeSpan.Zero)).TotalSeconds, 1));
            }
        }
    }

    public ValueTask DisposeAsync() => DataSource?.DisposeAsync() ?? ValueTask.CompletedTask;

    [LoggerMessage(EventId = 3, EventName = "ReplicaUnreachable", Level = LogLevel.Warning,
        Message = "The PostgreSQL read replica cannot be reached ({Reason}). List and audit queries read from the primary meanwhile, readiness is Degraded, and the replica is tried again every {RetrySeconds} s; this is logged once per outage.")]
    private partial void LogDown(string reason, int retrySeconds);

    [LoggerMessage(EventId = 4, EventName = "ReplicaReachable", Level = LogLevel.Information,
        Message = "The PostgreSQL read replica answers again after {OutageSeconds} s; list and audit queries read from it again.")]
    private partial void LogUp(double outageSeconds);
}
