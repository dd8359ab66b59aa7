using System.ComponentModel.DataAnnotations;
using System.Collections.Concurrent;
using System.Globalization;
using System.Threading.RateLimiting;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Valkey;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace JobTrail.Host;

/// <summary>
/// A token bucket per API key (per client IP before authentication): <c>JobTrail:RateLimit:PerSecond</c>
/// tokens a second (default 200; the period is <c>JobTrail:RateLimit:ReplenishmentPeriod</c>, default one second)
/// up to <c>JobTrail:RateLimit:Burst</c> (default 400). Past that: 429
/// with <c>Retry-After</c>. A key's bucket lives in Valkey, shared by every instance (one script call per
/// block of tokens, see <see cref="SharedTokenBucket"/>); while Valkey cannot be reached each instance falls back to a bucket of its own with the same
/// settings, so an outage never removes the limit. Per-IP buckets (before authentication) live in each instance.
/// A key's rejections are recorded in its workspace's activity log as one <c>api_key.rate_limited</c>
/// row (DENIED) per <c>JobTrail:RateLimit:RecordWindow</c> (default one minute), not one per request:
/// a flood must not become a flood of audit rows.
/// </summary>
internal static class RateLimiting
{
    /// <summary><c>jobtrail_rate_limited_total</c>: requests refused with 429 by the token buckets.</summary>
    private static readonly System.Diagnostics.Metrics.Counter<long> Rejections =
        new System.Diagnostics.Metrics.Meter(JobTrail.BuildingBlocks.Observability.Telemetry.Name)
            .CreateCounter<long>("jobtrail.rate_limited", description: "Requests refused by the rate limiter (429)");

    public static IServiceCollection AddJobTrailRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.Section)
            .ValidateDataAnnotations()
            .Validate(o => o.RecordWindow >= TimeSpan.FromSeconds(1), "JobTrail__RateLimit__RecordWindow must be at least one second.")
            .Validate(o => o.ReplenishmentPeriod >= TimeSpan.FromMilliseconds(1), "JobTrail__RateLimit__ReplenishmentPeriod must be at least one millisecond.")
            .ValidateOnStart();
        services.AddSingleton(sp => new RateLimitRecordWindows(
            sp.GetRequiredService<IOptions<RateLimitOptions>>().Value.RecordWindow, sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<SharedBucketHealth>();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((options, settings) =>
        {
            var (perSecond, burst, recordWindow, period) = (settings.Value.PerSecond, settings.Value.Burst, settings.Value.RecordWindow, settings.Value.ReplenishmentPeriod);
            var shared = settings.Value.Shared;
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var context = http.RequestServices.GetRequiredService<RequestContext>();
                if (context.ApiKeyId is { } key && shared)
                {
                    // A key's allowance is one bucket in Valkey for every instance (this instance's own while it is down).
                    return RateLimitPartition.Get("key:" + key.ToString("N"), _ => new SharedTokenBucket(
                        SharedKeys.RateLimit(key), perSecond, burst, period,
                        http.RequestServices.GetRequiredService<IValkeyClient>(), http.RequestServices.GetRequiredService<SharedBucketHealth>()));
                }

                return RateLimitPartition.GetTokenBucketLimiter(
                    context.ApiKeyId is { } local ? "key:" + local.ToString("N") : "ip:" + (context.IpAddress ?? "unknown"),
                    _ => SharedTokenBucket.LocalOptions(perSecond, burst, period));
            });
            options.OnRejected = async (rejected, cancellationToken) =>
            {
                var http = rejected.HttpContext;
                Rejections.Add(1);
                var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                var context = http.RequestServices.GetRequiredService<RequestContext>();
                var windows = http.RequestServices.GetRequiredService<RateLimitRecordWindows>();
                if (context.ApiKeyId is { } keyId && windows.Open(keyId))
                {
                    // Recorded before the answer, in its own transaction; losing it is logged, never a 500
                    // (a database that cannot be reached makes it a 503: see below).
                    var activity = new CapturedActivity("api_key.rate_limited", "api_key", keyId.ToString(), ActivityOutcome.Denied,
                        new Dictionary<string, object?>
                        {
                            ["error"] = "rate_limited",
                            ["method"] = http.Request.Method,
                            ["path"] = http.Request.Path.Value,
                            ["retryAfterSeconds"] = seconds,
                            ["windowSeconds"] = (int)recordWindow.TotalSeconds,
                        });
                    try
                    {
                        foreach (var capture in http.RequestServices.GetServices<IActivityCapture>())
                        {
                            await capture.RecordRefusalAsync(activity, CancellationToken.None);
                        }
                    }
                    catch
                    {
                        // Not recorded (the database cannot be reached; the answer becomes a 503): forget the
                        // window, so that the key's next rejection opens one and is recorded.
                        windows.Close(keyId);
                        throw;
                    }
                }

                http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                await http.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = http,
                    ProblemDetails = new ProblemDetails
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Detail = $"Too many requests for this API key; retry after {seconds} s.",
                        Extensions = { ["code"] = "rate_limited" },
                    },
                });
            };
        });
        return services;
    }
}

/// <summary><c>JobTrail:RateLimit</c>, bound and validated at start-up.</summary>
internal sealed class RateLimitOptions
{
    public const string Section = "JobTrail:RateLimit";

    [Range(1, int.MaxValue, ErrorMessage = "JobTrail__RateLimit__PerSecond must be at least 1.")]
    public int PerSecond { get; set; } = 200;

    [Range(1, int.MaxValue, ErrorMessage = "JobTrail__RateLimit__Burst must be at least 1.")]
    public int Burst { get; set; } = 400;

    public TimeSpan RecordWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Whether a key's bucket is shared by every instance through Valkey (default); false keeps it per instance, which
    /// saves the round trip per request where one instance runs.
    /// </summary>
    public bool Shared { get; set; } = true;

    /// <summary>How often <see cref="PerSecond"/> tokens are added; one second unless a deployment (or a test that must not see a refill) says otherwise.</summary>
    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Per API key, when its current recording window opened: the first rejection of a window opens it
/// (and is recorded), the rest of the window's rejections are not. In this instance only.
/// </summary>
internal sealed class RateLimitRecordWindows(TimeSpan window, TimeProvider clock)
{
    private const int PruneAbove = 10_000;
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> opened = new();

    /// <summary>True exactly once per key and window, however many rejections race.</summary>
    public bool Open(Guid keyId)
    {
        var now = clock.GetUtcNow();
        while (true)
        {
            if (opened.TryGetValue(keyId, out var since))
            {
                if (now - since < window)
                {
                    return false;
                }

                if (opened.TryUpdate(keyId, now, since))
                {
                    return true;
                }
            }
            else if (opened.TryAdd(keyId, now))
            {
                Prune(now);
                return true;
            }
        }
    }

    /// <summary>Forgets the key's window, so that its next rejection opens (and records) a new one.</summary>
    public void Close(Guid keyId) => opened.TryRemove(keyId, out _);

    private void Prune(DateTimeOffset now)
    {
        if (opened.Count <= PruneAbove)
        {
            return;
        }

        foreach (var (key, since) in opened)
        {
            if (now - since >= window)
            {
                opened.TryRemove(new KeyValuePair<Guid, DateTimeOffset>(key, since));
            }
        }
    }
}

/// <summary>
/// An API key's token bucket in Valkey (<see cref="IValkeyClient.TakeTokensAsync"/>), taken in blocks: this instance takes
/// up to <see cref="BlockSize"/> tokens in one round trip and hands them out without one; one refill per key is in flight at
/// a time, and concurrent requests wait for it. A block's unused tokens expire after <see cref="BlockLifetime"/> and are
/// given back with the next refill. A bucket of this instance's own, of the same settings, takes over while Valkey cannot
/// be reached. See ADR 0035.
/// </summary>
internal sealed class SharedTokenBucket(string key, int perPeriod, int burst, TimeSpan period, IValkeyClient valkey, SharedBucketHealth health)
    : RateLimiter
{
    /// <summary><c>jobtrail_rate_limit_shared_takes_total</c>: script calls to the shared buckets (one per block, not per request).</summary>
    private static readonly System.Diagnostics.Metrics.Counter<long> SharedTakes =
        new System.Diagnostics.Metrics.Meter(JobTrail.BuildingBlocks.Observability.Telemetry.Name)
            .CreateCounter<long>("jobtrail.rate_limit.shared_takes", description: "Calls to the shared (Valkey) rate-limit buckets; each takes a block of tokens");

    private static readonly RateLimitLease Granted = new Lease(true, null);
    private static readonly RateLimitLease NotDecidedHere = new Lease(false, null);
    private readonly TokenBucketRateLimiter local = new(LocalOptions(perPeriod, burst, period));
    private readonly int block = BlockSize(perPeriod, burst);
    private readonly long lifetimeTicks = (long)(BlockLifetime(period).TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
    private readonly Lock gate = new();
    private long lastUsed = System.Diagnostics.Stopwatch.GetTimestamp();

    // Guarded by gate: tokens of the current block, when it was taken, until when the shared bucket said it is empty, the refill in flight.
    private int available;
    private long blockTakenAt;
    private long emptyUntil;
    private TaskCompletionSource<bool>? refill;

    /// <summary>
    /// Idle for as long as it was not asked, once its own bucket is full again: the partitioned limiter may then drop it
    /// (the shared state is in Valkey), never while the fallback bucket still counts an outage's requests.
    /// </summary>
    public override TimeSpan? IdleDuration => local.IdleDuration is null ? null : System.Diagnostics.Stopwatch.GetElapsedTime(Interlocked.Read(ref lastUsed));

    /// <summary>
    /// Tokens taken per round trip: a tenth of the smaller of the per-period allowance and the burst, between 1 and 64.
    /// Small limits (under 20) get blocks of one token, i.e. one round trip per request and no tokens held.
    /// </summary>
    public static int BlockSize(int perPeriod, int burst) => Math.Clamp(Math.Min(perPeriod, burst) / 10, 1, 64);

    /// <summary>How long a block's tokens may be handed out: the replenishment period, at most one second.</summary>
    public static TimeSpan BlockLifetime(TimeSpan period) => period < TimeSpan.FromSeconds(1) ? period : TimeSpan.FromSeconds(1);

    public static TokenBucketRateLimiterOptions LocalOptions(int perPeriod, int burst, TimeSpan period) => new()
    {
        TokenLimit = burst,
        TokensPerPeriod = perPeriod,
        ReplenishmentPeriod = period,
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    public override RateLimiterStatistics? GetStatistics() => local.GetStatistics();

    // Decided here only when this instance's block has the tokens; otherwise the middleware asks AcquireAsync, which may ask Valkey.
    protected override RateLimitLease AttemptAcquireCore(int permitCount)
    {
        if (permitCount == 0)
        {
            return Granted;
        }

        Interlocked.Exchange(ref lastUsed, System.Diagnostics.Stopwatch.GetTimestamp());
        lock (gate)
        {
            return TakeFromBlock(permitCount, System.Diagnostics.Stopwatch.GetTimestamp()) ? Granted : NotDecidedHere;
        }
    }

    protected override async ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken)
    {
        Interlocked.Exchange(ref lastUsed, System.Diagnostics.Stopwatch.GetTimestamp());
        if (permitCount == 0)
        {
            return Granted;
        }

        while (true)
        {
            Task<bool> pending;
            var refiller = false;
            var givenBack = 0;
            lock (gate)
            {
                var now = System.Diagnostics.Stopwatch.GetTimestamp();
                if (TakeFromBlock(permitCount, now))
                {
                    return Granted;
                }

                if (now < emptyUntil)
                {
                    // The shared bucket said when its next token is there; asking again sooner cannot succeed (nothing adds tokens faster).
                    return new Lease(false, System.Diagnostics.Stopwatch.GetElapsedTime(now, emptyUntil));
                }

                if (refill is null)
                {
                    refill = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    refiller = true;
                    if (Expired(now))
                    {
                        // An expired block's tokens go back to the shared bucket with this refill, never handed out here.
                        (givenBack, available) = (available, 0);
                    }
                }

                pending = refill.Task;
            }

            if (refiller)
            {
                await RefillAsync(Math.Max(block, permitCount), givenBack);
            }

            if (!await pending.WaitAsync(cancellationToken))
            {
                return local.AttemptAcquire(permitCount);
            }
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            local.Dispose();
        }

        base.Dispose(disposing);
    }

    private bool Expired(long now) => now - blockTakenAt >= lifetimeTicks;

    private bool TakeFromBlock(int permitCount, long now)
    {
        if (available < permitCount || Expired(now))
        {
            return false;
        }

        available -= permitCount;
        return true;
    }

    /// <summary>The one round trip for this key in flight; completes <see cref="refill"/> with false when Valkey cannot be reached.</summary>
    private async Task RefillAsync(int wanted, int givenBack)
    {
        var answered = false;
        try
        {
            if (valkey.IsConnected)
            {
                SharedTakes.Add(1);
                var take = await valkey.TakeTokensAsync(key, burst, perPeriod, period, wanted, givenBack);
                health.Reachable();
                answered = true;
                lock (gate)
                {
                    var now = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (take.Taken > 0)
                    {
                        (available, blockTakenAt) = (available + take.Taken, now);
                    }
                    else
                    {
                        emptyUntil = now + (long)(take.RetryAfter.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
                    }
                }
            }
            else
            {
                health.Unreachable("not connected");
            }
        }
        catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
        {
            // Tokens given back with a call that failed are not given back again: the call may have reached Valkey.
            health.Unreachable(ex.Message);
        }
        finally
        {
            TaskCompletionSource<bool> done;
            lock (gate)
            {
                (done, refill) = (refill!, null);
            }

            done.SetResult(answered);
        }
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}

/// <summary>Logs once when the shared buckets fall back to per-instance ones and once when they are shared again.</summary>
internal sealed partial class SharedBucketHealth(ILogger<SharedBucketHealth> logger)
{
    private int down;

    public void Unreachable(string reason)
    {
        if (Interlocked.Exchange(ref down, 1) == 0)
        {
            LogFallback(reason);
        }
    }

    public void Reachable()
    {
        if (Interlocked.Exchange(ref down, 0) == 1)
        {
            LogShared();
        }
    }

    // Not a warning: the outage has one warning already, ValkeyClient's, which names this fallback.
    [LoggerMessage(Level = LogLevel.Information, Message = "Rate limits are counted per instance while Valkey cannot be reached ({Reason}); this is logged once per outage.")]
    private partial void LogFallback(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Rate limits are shared through Valkey again.")]
    private partial void LogShared();
}
