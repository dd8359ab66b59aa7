namespace JobTrail.Modules.JobEvents.Relay;

/// <summary>
/// Wakes this instance's relay: the group writer signals it after each commit (in-process, no NOTIFY),
/// and the relay's listener signals it when another instance's commit NOTIFYs.
/// </summary>
internal sealed class RelayWakeup
{
    // At most one pending wake: many commits while the relay works are one more look at the outbox.
    private readonly SemaphoreSlim signal = new(0, 1);
    private readonly Lock gate = new();

    public void Signal()
    {
        // Checked, not caught: a full semaphore is the common case under load, and a throw per commit costs CPU.
        lock (gate)
        {
            if (signal.CurrentCount == 0)
            {
                signal.Release();
            }
        }
    }

    /// <summary>True when signalled, false when <paramref name="timeout"/> passed first.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => signal.WaitAsync(timeout, cancellationToken);
}
