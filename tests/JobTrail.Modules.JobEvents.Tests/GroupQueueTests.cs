using JobTrail.Modules.JobEvents.Persistence;

namespace JobTrail.Modules.JobEvents.Tests;

public sealed class GroupQueueTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly Guid Workspace = Guid.NewGuid();

    private static PendingAppend Append(Guid job, int events = 1, CancellationToken cancellationToken = default) =>
        new(
            Workspace,
            new AppendRequest(
                job,
                [.. Enumerable.Range(0, events).Select(_ => new NewEvent(Guid.NewGuid(), "step.output", null, null, null))],
                CreateStream: false,
                Seal: false,
                IdempotencyKey: null,
                RequestHash: null,
                ActorId: "key:1",
                CorrelationId: "c",
                Now: DateTime.UtcNow),
            joined: null,
            cancellationToken);

    private static async Task<List<PendingAppend>> TakeAsync(GroupQueue queue, int writer)
    {
        var taken = new List<PendingAppend>();
        Assert.True(await queue.TakeAsync(writer, taken).AsTask().WaitAsync(Deadline));
        return taken;
    }

    [Fact]
    public async Task Without_a_helper_the_writer_takes_everything_queued_in_arrival_order_up_to_the_limit()
    {
        var queue = new GroupQueue(maxRequests: 3, helperFromEvents: 0);
        Assert.Equal(1, queue.Writers);
        var appends = Enumerable.Range(0, 5).Select(_ => Append(Guid.NewGuid())).ToList();
        appends.ForEach(a => Assert.True(queue.TryAdd(a)));

        Assert.Equal(appends[..3], await TakeAsync(queue, GroupQueue.Main));
        Assert.Equal(2, queue.Count);
        queue.Release(GroupQueue.Main, appends[..3]);
        Assert.Equal(appends[3..], await TakeAsync(queue, GroupQueue.Main));
    }

    [Fact]
    public async Task The_helper_takes_nothing_while_the_main_writer_is_free_or_the_backlog_is_below_its_threshold()
    {
        var queue = new GroupQueue(maxRequests: 256, helperFromEvents: 200);
        Assert.Equal(2, queue.Writers);
        var helper = new List<PendingAppend>();
        var helping = queue.TakeAsync(GroupQueue.Helper, helper).AsTask();

        // The main writer is free: a backlog of any size is its own, not the helper's.
        var first = Append(Guid.NewGuid(), events: 500);
        queue.TryAdd(first);
        Assert.False(helping.IsCompleted);
        var main = await TakeAsync(queue, GroupQueue.Main);
        Assert.Equal([first], main);

        // The main writer is busy, and 199 events wait behind it: still below the threshold.
        var small = Enumerable.Range(0, 199).Select(_ => Append(Guid.NewGuid())).ToList();
        small.ForEach(a => queue.TryAdd(a));
        Assert.False(helping.IsCompleted);
        Assert.Empty(helper);

        // The 200th event: the helper takes the whole backlog.
        var last = Append(Guid.NewGuid());
        queue.TryAdd(last);
        Assert.True(await helping.WaitAsync(Deadline));
        Assert.Equal([.. small, last], helper);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task The_helper_skips_a_job_the_main_writer_holds_and_every_later_append_of_it_which_the_main_writer_then_takes_in_order()
    {
        var queue = new GroupQueue(maxRequests: 256, helperFromEvents: 1);
        var held = Guid.NewGuid();
        var other = Guid.NewGuid();
        queue.TryAdd(Append(held));
        var main = await TakeAsync(queue, GroupQueue.Main);

        var a1 = Append(held, 100);
        var b1 = Append(other, 100);
        var a2 = Append(held, 1);
        var b2 = Append(other, 1);
        foreach (var a in new[] { a1, b1, a2, b2 })
        {
            queue.TryAdd(a);
        }

        Assert.Equal([b1, b2], await TakeAsync(queue, GroupQueue.Helper));

        // While the helper holds the other job, the main writer takes the held job's appends and leaves the other's.
        var b3 = Append(other);
        queue.TryAdd(b3);
        queue.Release(GroupQueue.Main, main);
        Assert.Equal([a1, a2], await TakeAsync(queue, GroupQueue.Main));
        Assert.Equal(1, queue.Count);

        // Once the helper's group is answered, the other job's next append is the main writer's, which is woken for it.
        queue.Release(GroupQueue.Main, [a1, a2]);
        var taken = new List<PendingAppend>();
        var waiting = queue.TakeAsync(GroupQueue.Main, taken).AsTask();
        Assert.Empty(taken);
        queue.Release(GroupQueue.Helper, [b1, b2]);
        Assert.True(await waiting.WaitAsync(Deadline));
        Assert.Equal([b3], taken);
    }

    [Fact]
    public async Task An_append_of_a_job_the_helper_holds_waits_for_the_helpers_release_and_wakes_the_free_main_writer()
    {
        var queue = new GroupQueue(maxRequests: 256, helperFromEvents: 1);
        var job = Guid.NewGuid();
        queue.TryAdd(Append(Guid.NewGuid()));
        var main = await TakeAsync(queue, GroupQueue.Main);
        var first = Append(job);
        queue.TryAdd(first);
        Assert.Equal([first], await TakeAsync(queue, GroupQueue.Helper));

        // The main writer is free, but the job's next append must wait for the helper's group to be answered.
        queue.Release(GroupQueue.Main, main);
        var second = Append(job);
        var taken = new List<PendingAppend>();
        var waiting = queue.TakeAsync(GroupQueue.Main, taken).AsTask();
        queue.TryAdd(second);
        Assert.Empty(taken);
        Assert.Equal(1, queue.Count);

        queue.Release(GroupQueue.Helper, [first]);
        Assert.True(await waiting.WaitAsync(Deadline));
        Assert.Equal([second], taken);
    }

    [Fact]
    public async Task The_helper_is_woken_when_the_main_writer_takes_a_group_and_leaves_a_backlog_behind()
    {
        var queue = new GroupQueue(maxRequests: 2, helperFromEvents: 3);
        var helper = new List<PendingAppend>();
        var helping = queue.TakeAsync(GroupQueue.Helper, helper).AsTask();
        var appends = Enumerable.Range(0, 5).Select(_ => Append(Guid.NewGuid())).ToList();
        appends.ForEach(a => queue.TryAdd(a));
        Assert.False(helping.IsCompleted);

        Assert.Equal(appends[..2], await TakeAsync(queue, GroupQueue.Main));
        Assert.True(await helping.WaitAsync(Deadline));
        Assert.Equal(appends[2..4], helper);
    }

    [Fact]
    public async Task Events_of_jobs_the_main_writer_holds_do_not_count_towards_the_helpers_threshold()
    {
        var queue = new GroupQueue(maxRequests: 256, helperFromEvents: 200);
        var busy = Guid.NewGuid();
        queue.TryAdd(Append(busy));
        var main = await TakeAsync(queue, GroupQueue.Main);

        // 500 events of the job the main writer holds, then a lone emit of another job: nothing the helper may take
        // reaches 200 events, so it is not woken for the emit, which stays for the main writer.
        var helper = new List<PendingAppend>();
        var helping = queue.TakeAsync(GroupQueue.Helper, helper).AsTask();
        queue.TryAdd(Append(busy, 500));
        var lone = Append(Guid.NewGuid());
        queue.TryAdd(lone);
        Assert.False(helping.IsCompleted);

        // 199 more events of other jobs: 200 the helper may take, and it takes exactly those.
        var others = Enumerable.Range(0, 199).Select(_ => Append(Guid.NewGuid())).ToList();
        others.ForEach(a => queue.TryAdd(a));
        Assert.True(await helping.WaitAsync(Deadline));
        Assert.Equal([lone, .. others], helper);

        // Released by the main writer, the held job's 500 events are the main writer's next group.
        queue.Release(GroupQueue.Main, main);
        Assert.Equal(500, Assert.Single(await TakeAsync(queue, GroupQueue.Main)).Request.Events.Count);
    }

    [Fact]
    public async Task A_cancelled_append_is_cancelled_instead_of_taken()
    {
        var queue = new GroupQueue(maxRequests: 256, helperFromEvents: 0);
        using var cancel = new CancellationTokenSource();
        var gone = Append(Guid.NewGuid(), cancellationToken: cancel.Token);
        var kept = Append(Guid.NewGuid());
        queue.TryAdd(gone);
        queue.TryAdd(kept);
        await cancel.CancelAsync();

        Assert.Equal([kept], await TakeAsync(queue, GroupQueue.Main));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone.Answer);
    }

    [Fact]
    public async Task Completing_fails_what_is_queued_refuses_new_appends_and_ends_the_takes()
    {
        var queue = new GroupQueue(maxRequests: 256, helperFromEvents: 10);
        var helper = queue.TakeAsync(GroupQueue.Helper, []).AsTask();
        var queued = Append(Guid.NewGuid());
        queue.TryAdd(queued);

        queue.Complete(new OperationCanceledException("stopping"));

        Assert.False(await helper.WaitAsync(Deadline));
        Assert.False(await queue.TakeAsync(GroupQueue.Main, []).AsTask().WaitAsync(Deadline));
        await Assert.ThrowsAsync<OperationCanceledException>(() => queued.Answer);
        Assert.False(queue.TryAdd(Append(Guid.NewGuid())));
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public async Task Two_writers_racing_over_many_jobs_never_hold_one_job_together_and_take_each_jobs_appends_in_order()
    {
        var queue = new GroupQueue(maxRequests: 8, helperFromEvents: 4);
        var jobs = Enumerable.Range(0, 6).Select(_ => Guid.NewGuid()).ToArray();
        var sent = jobs.ToDictionary(j => j, _ => new List<PendingAppend>());
        var takenInOrder = jobs.ToDictionary(j => j, _ => new List<PendingAppend>());
        var holders = new Dictionary<Guid, int>();
        var sync = new Lock();
        var overlap = 0;
        var takes = new int[2];
        using var stop = new CancellationTokenSource();

        async Task WriteAsync(int writer)
        {
            var taken = new List<PendingAppend>();
            while (await queue.TakeAsync(writer, taken))
            {
                lock (sync)
                {
                    takes[writer]++;
                    foreach (var job in taken.Select(p => p.Request.JobId).Distinct())
                    {
                        if (holders.ContainsKey(job))
                        {
                            overlap++;
                        }

                        holders[job] = writer;
                    }

                    foreach (var p in taken)
                    {
                        takenInOrder[p.Request.JobId].Add(p);
                    }
                }

                await Task.Yield();
                lock (sync)
                {
                    foreach (var job in taken.Select(p => p.Request.JobId).Distinct())
                    {
                        holders.Remove(job);
                    }
                }

                foreach (var p in taken)
                {
                    p.Complete([]);
                }

                queue.Release(writer, taken);
                taken.Clear();
            }
        }

        var writers = new[] { Task.Run(() => WriteAsync(GroupQueue.Main)), Task.Run(() => WriteAsync(GroupQueue.Helper)) };
        var senders = jobs.Select(job => Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                var append = Append(job, events: 1 + (i % 3));
                lock (sync)
                {
                    sent[job].Add(append);
                }

                Assert.True(queue.TryAdd(append));
                if (i % 4 == 0)
                {
                    await append.Answer.WaitAsync(Deadline);
                }
            }
        })).ToArray();
        await Task.WhenAll(senders).WaitAsync(Deadline);
        await Task.WhenAll(sent.Values.SelectMany(s => s).Select(p => p.Answer)).WaitAsync(Deadline);
        queue.Complete(new OperationCanceledException("done"));
        await Task.WhenAll(writers).WaitAsync(Deadline);

        Assert.Equal(0, overlap);
        Assert.True(takes[GroupQueue.Helper] > 0, $"the helper never took (the main writer took {takes[GroupQueue.Main]} times)");
        foreach (var job in jobs)
        {
            Assert.Equal(sent[job], takenInOrder[job]);
        }
    }
}
