using System.Collections.Concurrent;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Valkey;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace JobTrail.BuildingBlocks.Streaming;

/// <summary>
/// Caps the open live streams (job events and activity alike) per workspace, and per API key at
/// <see cref="MaxPerKey"/> (a share of the workspace's cap), so that one key cannot take every slot.
/// The caps hold across instances: each stream also holds a lease in Valkey (renewed while it lives,
/// expiring by itself when its instance dies). While Valkey cannot be reached, each instance counts
/// alone (the caps then hold per instance), so an outage never removes them.
/// </summary>
public sealed partial class StreamSlots : IDisposable
{
    private readonly StreamCapOptions options;
    private readonly IValkeyClient? valkey;
    private readonly ILogger logger;
    private readonly Dictionary<Guid, int> byWorkspace = [];
    private readonly Dictionary<Guid, int> byKey = [];
    private readonly ConcurrentDictionary<string, (string WorkspaceKey, string? ApiKeyKey, string LeaseId)> leases = new();
    private readonly Timer? renewal;
    private int down;

    /// <summary>Slots counted in this instance only (no <paramref name="valkey"/>), or shared through it.</summary>
    public StreamSlots(StreamCapOptions options, IValkeyClient? valkey = null, ILogger<StreamSlots>? logger = null)
    {
        this.options = options;
        this.valkey = valkey;
        this.logger = (ILogger?)logger ?? NullLogger.Instance;
        MaxPerKey = Math.Max(1, (int)Math.Floor(options.MaxStreamsPerWorkspace * Math.Clamp(options.MaxShareOfWorkspacePerKey, 0, 1)));
        if (valkey is not null)
        {
            var every = options.LeaseTtl / 3;
            renewal = new Timer(_ => _ = RenewAsync(), null, every, every);
        }
    }

    /// <summary>Streams one API key may hold in one workspace: the configured share of the workspace's cap, at least 1.</summary>
    public int MaxPerKey { get; }

    public int MaxPerWorkspace => options.MaxStreamsPerWorkspace;

    /// <summary>Shared leases this instance holds now.</summary>
    public int SharedLeases => leases.Count;

    /// <summary>A slot, or a 429 naming the cap that refused it (<paramref name="what"/> says which kind of stream).</summary>
    public async Task<IDisposable> AcquireAsync(Guid workspaceId, Guid? apiKeyId, string what)
    {
        var (slot, refusal) = await TryAcquireAsync(workspaceId, apiKeyId);
        return slot ?? throw (refusal == SlotRefusal.Key
            ? new TooManyRequestsException(
                $"This API key already holds {MaxPerKey} of this workspace's {MaxPerWorkspace} live streams " +
                $"(JobTrail:Events:Stream:MaxShareOfWorkspacePerKey); close one before opening another {what}, or retry later.",
                TimeSpan.FromSeconds(5), "too_many_streams")
            : new TooManyRequestsException(
                $"This workspace already has {MaxPerWorkspace} open live streams; close one before opening another {what}, or retry later.",
                TimeSpan.FromSeconds(5), "too_many_streams"));
    }

    /// <summary>A slot, or null and the cap that refused it.</summary>
    public async Task<(IDisposable? Slot, SlotRefusal Refusal)> TryAcquireAsync(Guid workspaceId, Guid? apiKeyId)
    {
        var local = TryAcquireHere(workspaceId, apiKeyId);
        if (local != SlotRefusal.None)
        {
            return (null, local);
        }

        if (valkey is null || !valkey.IsConnected)
        {
            return (new Slot(this, workspaceId, apiKeyId, null), SlotRefusal.None);
        }

        var lease = (SharedKeys.StreamLeases(workspaceId), apiKeyId is { } key ? SharedKeys.StreamLeases(workspaceId, key) : null, Guid.NewGuid().ToString("N"));
        try
        {
            var shared = await valkey.TryLeaseAsync(lease.Item1, lease.Item2, lease.Item3, MaxPerWorkspace, MaxPerKey, options.LeaseTtl);
            Interlocked.Exchange(ref down, 0);
            if (shared != SlotRefusal.None)
            {
                ReleaseHere(workspaceId, apiKeyId);
                return (null, shared);
            }

            leases[lease.Item3] = lease;
            return (new Slot(this, workspaceId, apiKeyId, lease.Item3), SlotRefusal.None);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Valkey is unreachable: this instance's own count is the cap until it is back.
            if (Interlocked.Exchange(ref down, 1) == 0)
            {
                LogCountingHere(ex.Message);
            }

            return (new Slot(this, workspaceId, apiKeyId, null), SlotRefusal.None);
        }
    }

    public void Dispose() => renewal?.Dispose();

    private SlotRefusal TryAcquireHere(Guid workspaceId, Guid? apiKeyId)
    {
        lock (byWorkspace)
        {
            if (byWorkspace.GetValueOrDefault(workspaceId) >= options.MaxStreamsPerWorkspace)
            {
                return SlotRefusal.Workspace;
            }

            if (apiKeyId is { } key && byKey.GetValueOrDefault(key) >= MaxPerKey)
            {
                return SlotRefusal.Key;
            }

            byWorkspace[workspaceId] = byWorkspace.GetValueOrDefault(workspaceId) + 1;
            if (apiKeyId is { } held)
            {
                byKey[held] = byKey.GetValueOrDefault(held) + 1;
            }

            return SlotRefusal.None;
        }
    }

    private void ReleaseHere(Guid workspaceId, Guid? apiKeyId)
    {
        lock (byWorkspace)
        {
            Decrement(byWorkspace, workspaceId);
            if (apiKeyId is { } key)
            {
                Decrement(byKey, key);
            }
        }
    }

    private async Task ReleaseSharedAsync(string leaseId)
    {
        if (!leases.TryRemove(leaseId, out var lease) || valkey is null)
        {
            return;
        }

        try
        {
            await valkey.ReleaseLeaseAsync(lease.WorkspaceKey, lease.ApiKeyKey, lease.LeaseId);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Not given back: the lease expires by itself within LeaseTtl.
            LogNotReleased(ex.Message);
        }
    }

    private async Task RenewAsync()
    {
        if (valkey is null || leases.IsEmpty)
        {
            return;
        }

        try
        {
            await valkey.RenewLeasesAsync([.. leases.Values], options.LeaseTtl);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // The next renewal tries again; a lease that expires meanwhile is added back by it.
            LogNotRenewed(ex.Message);
        }
    }

    private static void Decrement(Dictionary<Guid, int> counts, Guid id)
    {
        if (counts.TryGetValue(id, out var n) && n > 1)
        {
            counts[id] = n - 1;
        }
        else
        {
            counts.Remove(id);
        }
    }

    // Not a warning: the outage has one warning already, ValkeyClient's, which names this fallback.
    [LoggerMessage(Level = LogLevel.Information, Message = "Stream caps are counted per instance while Valkey cannot be reached ({Reason}); this is logged once per outage.")]
    private partial void LogCountingHere(string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "A stream lease was not given back to Valkey ({Reason}); it expires by itself.")]
    private partial void LogNotReleased(string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Stream leases were not renewed in Valkey ({Reason}); retrying at the next renewal.")]
    private partial void LogNotRenewed(string reason);

    private sealed class Slot(StreamSlots owner, Guid workspaceId, Guid? apiKeyId, string? leaseId) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                owner.ReleaseHere(workspaceId, apiKeyId);
                if (leaseId is not null)
                {
                    _ = owner.ReleaseSharedAsync(leaseId);
                }
            }
        }
    }
}
