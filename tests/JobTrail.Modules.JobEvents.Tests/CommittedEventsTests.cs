using JobTrail.BuildingBlocks.Integrity;
using JobTrail.Modules.JobEvents.Relay;

namespace JobTrail.Modules.JobEvents.Tests;

public sealed class CommittedEventsTests
{
    private static readonly Guid Workspace = Guid.NewGuid();
    private static readonly Guid Job = Guid.NewGuid();

    private static EventRecord Event(long seq, string? payload = "{}") =>
        new(Guid.NewGuid(), Workspace, Job, seq, "step.output", null, payload, "key:1", "c", DateTime.UtcNow, DateTime.UtcNow);

    [Fact]
    public void An_event_is_taken_once_and_counted()
    {
        var committed = new CommittedEvents(new RelayOptions());
        var e = Event(1);
        committed.Add([[e]]);

        Assert.True(committed.TryTake(e.Id, out var taken));
        Assert.Same(e, Assert.Single(taken));
        Assert.False(committed.TryTake(e.Id, out _));
        Assert.Equal(1, committed.Taken);
    }

    [Fact]
    public void An_append_is_kept_whole_under_its_first_event_only()
    {
        var committed = new CommittedEvents(new RelayOptions());
        var batch = Enumerable.Range(1, 100).Select(i => Event(i)).ToList();
        var single = Event(101);
        committed.Add([batch, single.AsList(), []]);

        // The outbox row of an append points at its first event; no later event of it opens an entry.
        Assert.False(committed.TryTake(batch[1].Id, out _));
        Assert.True(committed.TryTake(batch[0].Id, out var taken));
        Assert.Equal(batch, taken);
        Assert.True(committed.TryTake(single.Id, out var alone));
        Assert.Same(single, Assert.Single(alone));
        Assert.Equal(101, committed.Taken);
    }

    [Fact]
    public void An_append_added_again_replaces_itself_without_pushing_others_out()
    {
        var committed = new CommittedEvents(new RelayOptions());
        var other = Event(1);
        committed.Add([other.AsList()]);
        var batch = Enumerable.Range(2, 100).Select(i => Event(i)).ToList();

        // A request written again alone after its group failed comes back under the same first id, many times over
        // more events than two generations hold if each were counted anew.
        for (var i = 0; i < (3 * CommittedEvents.GenerationSize / batch.Count) + 1; i++)
        {
            committed.Add([batch]);
        }

        Assert.True(committed.TryTake(other.Id, out _));
        Assert.True(committed.TryTake(batch[0].Id, out var taken));
        Assert.Equal(batch, taken);
    }

    [Fact]
    public void Past_two_generations_the_oldest_events_are_dropped()
    {
        var committed = new CommittedEvents(new RelayOptions());
        var events = Enumerable.Range(1, (2 * CommittedEvents.GenerationSize) + 1).Select(i => Event(i)).ToList();
        committed.Add(events.Select(e => e.AsList()));

        // The third generation began with the last event: the first generation is gone, the second is kept.
        Assert.False(committed.TryTake(events[0].Id, out _));
        Assert.False(committed.TryTake(events[CommittedEvents.GenerationSize - 1].Id, out _));
        Assert.True(committed.TryTake(events[CommittedEvents.GenerationSize].Id, out _));
        Assert.True(committed.TryTake(events[^1].Id, out _));
    }

    [Fact]
    public void Large_payloads_bound_a_generation_by_size()
    {
        var committed = new CommittedEvents(new RelayOptions());
        var payload = "\"" + new string('x', 1 << 20) + "\"";
        var events = Enumerable.Range(1, 40).Select(i => Event(i, payload)).ToList();
        committed.Add(events.Select(e => e.AsList()));

        // ~2 MiB an event counted against 16 MiB a generation: the newest are held, at most two generations' worth.
        Assert.False(committed.TryTake(events[0].Id, out _));
        Assert.True(committed.TryTake(events[^1].Id, out _));
        var held = 1 + events.Skip(1).SkipLast(1).Count(e => committed.TryTake(e.Id, out _));
        Assert.InRange(held, 2, 2 * (int)(CommittedEvents.GenerationBytes / (2L << 20)));
    }

    [Fact]
    public void Nothing_is_kept_when_the_relay_is_off()
    {
        var committed = new CommittedEvents(new RelayOptions { Enabled = false });
        var e = Event(1);
        committed.Add([[e]]);

        Assert.False(committed.TryTake(e.Id, out _));
    }
}

internal static class EventRecordLists
{
    public static IReadOnlyList<EventRecord> AsList(this EventRecord e) => [e];
}
