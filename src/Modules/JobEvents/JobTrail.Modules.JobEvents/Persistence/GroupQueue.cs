namespace JobTrail.Modules.JobEvents.Persistence;

/// <summary>
/// One lane's queue of client appends, taken by its group writer and, while a backlog of events builds up behind a
/// busy writer, by a helper with a connection of its own (ADR 0047). Single emits and live traffic never queue that
/// many events, so they keep one writer and groups as large as one writer makes them; batches get a second
/// transaction in flight while the first is written.
/// <para>
/// A job is held by one writer at a time: from its take until that writer's group is answered. A writer takes no
/// append of a job the other one holds, nor any append of that job queued behind one it left, so a job's appends
/// still lock its stream row, get their seqs and commit in the order they arrived; and the same Idempotency-Key sent
/// twice still meets in one writer.
/// </para>
/// </summary>
internal sealed class GroupQueue
{
    /// <summary>The writer that takes whatever is queued whenever it is free.</summary>
    public const int Main = 0;

    /// <summary>The writer that takes only while <see cref="Main"/> is busy and the backlog is large enough.</summary>
    public const int Helper = 1;

    private readonly Lock gate = new();
    private readonly LinkedList<PendingAppend> queued = new();

    // Job → the writer that holds it (its appends are in that writer's group in flight).
    private readonly Dictionary<Guid, int> held = [];
    private readonly Slot[] slots;
    private readonly int maxRequests;
    private readonly int helperFromEvents;
    private int queuedEvents;

    // Events queued per job, and how many of all queued events belong to jobs the main writer holds (which the helper
    // may not take, so they do not count towards its threshold).
    private readonly Dictionary<Guid, int> queuedByJob = [];
    private int queuedForMain;
    private int count;
    private bool completed;

    /// <param name="maxRequests">The most appends one take returns.</param>
    /// <param name="helperFromEvents">
    /// The queued events from which the helper takes while the main writer is busy; 0 for no helper.
    /// </param>
    public GroupQueue(int maxRequests, int helperFromEvents)
    {
        this.maxRequests = Math.Max(1, maxRequests);
        this.helperFromEvents = Math.Max(0, helperFromEvents);
        slots = helperFromEvents > 0 ? [new Slot(), new Slot()] : [new Slot()];
    }

    /// <summary>The writers that take from this queue: the main one, and the helper if there is one.</summary>
    public int Writers => slots.Length;

    /// <summary>Appends waiting to be taken.</summary>
    public int Count => Volatile.Read(ref count);

    /// <summary>Queues an append; false once the queue is completed (the writers stopped).</summary>
    public bool TryAdd(PendingAppend pending)
    {
        TaskCompletionSource<bool>? wake;
        lock (gate)
        {
            if (completed)
            {
                return false;
            }

            queued.AddLast(pending);
            var job = pending.Request.JobId;
            var events = pending.Request.Events.Count;
            queuedEvents += events;
            queuedByJob[job] = queuedByJob.GetValueOrDefault(job) + events;
            if (held.TryGetValue(job, out var holder) && holder == Main)
            {
                queuedForMain += events;
            }

            count++;
            // The helper is woken only for an append it could take: one of a job the main writer does not hold.
            wake = TakeWaiter(Main)
                ?? (HelperMayTake() && !held.ContainsKey(job) ? TakeWaiter(Helper) : null);
        }

        wake?.TrySetResult(true);
        return true;
    }

    /// <summary>
    /// Waits until <paramref name="writer"/> may take appends and moves them into <paramref name="into"/>, in arrival
    /// order, marking their jobs held by it until <see cref="Release"/>. False once the queue is completed (which is how
    /// a waiting writer is stopped: no cancellation to register on every wait of the hot path).
    /// </summary>
    public async ValueTask<bool> TakeAsync(int writer, List<PendingAppend> into)
    {
        while (true)
        {
            TaskCompletionSource<bool>? waiting = null;
            TaskCompletionSource<bool>? wakeHelper = null;
            lock (gate)
            {
                if (completed)
                {
                    return false;
                }

                if (writer == Main || HelperMayTake())
                {
                    TakeLocked(writer, into);
                }

                if (into.Count > 0)
                {
                    slots[writer].Busy = true;

                    // What the main writer left (more than one group's worth) is the helper's, if it is that much.
                    if (writer == Main && HelperMayTake())
                    {
                        wakeHelper = TakeWaiter(Helper);
                    }
                }
                else
                {
                    waiting = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    slots[writer].Waiting = waiting;
                }
            }

            if (waiting is null)
            {
                wakeHelper?.TrySetResult(true);
                return true;
            }

            if (!await waiting.Task)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Ends <paramref name="writer"/>'s hold on the jobs of <paramref name="group"/> (answered, or failed), and hands
    /// what it left queued to the main writer if that one is waiting.
    /// </summary>
    public void Release(int writer, List<PendingAppend> group)
    {
        TaskCompletionSource<bool>? wake = null;
        lock (gate)
        {
            foreach (var pending in group)
            {
                var job = pending.Request.JobId;
                if (held.TryGetValue(job, out var holder) && holder == writer)
                {
                    held.Remove(job);
                    if (writer == Main)
                    {
                        queuedForMain -= queuedByJob.GetValueOrDefault(job);
                    }
                }
            }

            slots[writer].Busy = false;
            if (writer != Main && queued.Count > 0)
            {
                wake = TakeWaiter(Main);
            }
        }

        wake?.TrySetResult(true);
    }

    /// <summary>
    /// Refuses new appends, fails every queued one with <paramref name="reason"/>, and ends the writers' takes once their
    /// groups in flight are over (those are answered by their writers: committed, or failed by the same stop). Idempotent.
    /// </summary>
    public void Complete(Exception reason)
    {
        List<PendingAppend> left;
        List<TaskCompletionSource<bool>> waiters = [];
        lock (gate)
        {
            completed = true;
            left = [.. queued];
            queued.Clear();
            queuedEvents = 0;
            queuedByJob.Clear();
            queuedForMain = 0;
            Volatile.Write(ref count, 0);
            for (var w = 0; w < slots.Length; w++)
            {
                if (TakeWaiter(w) is { } waiter)
                {
                    waiters.Add(waiter);
                }
            }
        }

        foreach (var pending in left)
        {
            pending.Fail(reason);
        }

        foreach (var waiter in waiters)
        {
            waiter.TrySetResult(false);
        }
    }

    private bool HelperMayTake() =>
        slots.Length > 1 && slots[Main].Busy && !slots[Helper].Busy && queuedEvents - queuedForMain >= helperFromEvents;

    private TaskCompletionSource<bool>? TakeWaiter(int writer)
    {
        if (writer >= slots.Length)
        {
            return null;
        }

        var waiter = slots[writer].Waiting;
        slots[writer].Waiting = null;
        return waiter;
    }

    private void TakeLocked(int writer, List<PendingAppend> into)
    {
        HashSet<Guid>? skipped = null;
        var node = queued.First;
        while (node is not null && into.Count < maxRequests)
        {
            var next = node.Next;
            var pending = node.Value;
            var job = pending.Request.JobId;
            if (pending.CancellationToken.IsCancellationRequested)
            {
                Remove(node);
                pending.Cancel();
            }
            else if ((held.TryGetValue(job, out var holder) && holder != writer) || (skipped is not null && skipped.Contains(job)))
            {
                // Held by the other writer: this append and every later one of its job wait for that group's answer.
                (skipped ??= []).Add(job);
            }
            else
            {
                Remove(node);
                if (held.TryAdd(job, writer) && writer == Main)
                {
                    // What stays queued of this job is the main writer's from now on.
                    queuedForMain += queuedByJob.GetValueOrDefault(job);
                }

                into.Add(pending);
            }

            node = next;
        }
    }

    private void Remove(LinkedListNode<PendingAppend> node)
    {
        queued.Remove(node);
        var job = node.Value.Request.JobId;
        var events = node.Value.Request.Events.Count;
        queuedEvents -= events;
        var left = queuedByJob[job] - events;
        if (left == 0)
        {
            queuedByJob.Remove(job);
        }
        else
        {
            queuedByJob[job] = left;
        }

        if (held.TryGetValue(job, out var holder) && holder == Main)
        {
            queuedForMain -= events;
        }

        count--;
    }

    private sealed class Slot
    {
        /// <summary>The writer has a group in flight (taken and not yet released).</summary>
        public bool Busy;

        /// <summary>The writer waits for appends it may take.</summary>
        public TaskCompletionSource<bool>? Waiting;
    }
}
