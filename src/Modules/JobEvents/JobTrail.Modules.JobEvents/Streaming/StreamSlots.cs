using System.Collections.Concurrent;

namespace JobTrail.Modules.JobEvents.Streaming;

/// <summary>Caps the open event streams per workspace in this instance.</summary>
internal sealed class StreamSlots(EventStreamOptions options)
{
    private readonly ConcurrentDictionary<Guid, int> open = new();

    public IDisposable? TryAcquire(Guid workspaceId)
    {
        while (true)
        {
            var current = open.GetOrAdd(workspaceId, 0);
            if (current >= options.MaxStreamsPerWorkspace)
            {
                return null;
            }

            if (open.TryUpdate(workspaceId, current + 1, current))
            {
                return new Slot(this, workspaceId);
            }
        }
    }

    private void Release(Guid workspaceId) => open.AddOrUpdate(workspaceId, 0, (_, n) => Math.Max(0, n - 1));

    private sealed class Slot(StreamSlots owner, Guid workspaceId) : IDisposable
    {
        private int released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref released, 1) == 0)
            {
                owner.Release(workspaceId);
            }
        }
    }
}
