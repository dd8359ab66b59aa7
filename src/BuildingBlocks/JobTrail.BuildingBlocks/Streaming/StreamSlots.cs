using JobTrail.BuildingBlocks.Errors;

namespace JobTrail.BuildingBlocks.Streaming;

/// <summary>Which cap refused a stream.</summary>
public enum SlotRefusal
{
    None,
    Workspace,
    Key,
}

/// <summary>
/// Caps the open live streams (job events and activity alike) per workspace in this instance, and per
/// API key at <see cref="MaxPerKey"/> (a share of the workspace's cap), so that one key cannot take every slot.
/// </summary>
public sealed class StreamSlots(StreamCapOptions options)
{
    private readonly Dictionary<Guid, int> byWorkspace = [];
    private readonly Dictionary<Guid, int> byKey = [];

    /// <summary>Streams one API key may hold in one workspace here: the configured share of the workspace's cap, at least 1.</summary>
    public int MaxPerKey { get; } = Math.Max(1, (int)Math.Floor(options.MaxStreamsPerWorkspace * Math.Clamp(options.MaxShareOfWorkspacePerKey, 0, 1)));

    public int MaxPerWorkspace => options.MaxStreamsPerWorkspace;

    /// <summary>A slot, or a 429 naming the cap that refused it (<paramref name="what"/> says which kind of stream).</summary>
    public IDisposable Acquire(Guid workspaceId, Guid? apiKeyId, string what) =>
        TryAcquire(workspaceId, apiKeyId, out var refusal) ?? throw (refusal == SlotRefusal.Key
            ? new TooManyRequestsException(
                $"This API key already holds {MaxPerKey} of this workspace's {MaxPerWorkspace} live streams here " +
                $"(JobTrail:Events:Stream:MaxShareOfWorkspacePerKey); close one before opening another {what}, or retry later.",
                TimeSpan.FromSeconds(5), "too_many_streams")
            : new TooManyRequestsException(
                $"This workspace already has {MaxPerWorkspace} open live streams here; close one before opening another {what}, or retry later.",
                TimeSpan.FromSeconds(5), "too_many_streams"));

    public IDisposable? TryAcquire(Guid workspaceId, Guid? apiKeyId, out SlotRefusal refusal)
    {
        lock (byWorkspace)
        {
            if (byWorkspace.GetValueOrDefault(workspaceId) >= options.MaxStreamsPerWorkspace)
            {
                refusal = SlotRefusal.Workspace;
                return null;
            }

            if (apiKeyId is { } key && byKey.GetValueOrDefault(key) >= MaxPerKey)
            {
                refusal = SlotRefusal.Key;
                return null;
            }

            byWorkspace[workspaceId] = byWorkspace.GetValueOrDefault(workspaceId) + 1;
            if (apiKeyId is { } held)
            {
                byKey[held] = byKey.GetValueOrDefault(held) + 1;
            }

            refusal = SlotRefusal.None;
            return new Slot(this, workspaceId, apiKeyId);
        }
    }

    private void Release(Guid workspaceId, Guid? apiKeyId)
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

    private sealed class Slot(StreamSlots owner, Guid workspaceId, Guid? apiKeyId) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                owner.Release(workspaceId, apiKeyId);
            }
        }
    }
}
