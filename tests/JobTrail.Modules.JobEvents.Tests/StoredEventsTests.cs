using JobTrail.BuildingBlocks.Integrity;
using JobTrail.Modules.JobEvents.Features;

namespace JobTrail.Modules.JobEvents.Tests;

public sealed class StoredEventsTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static EventRecord Event(long seq, string? payload) => new(
        Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), seq, "step.output", null, payload, "runner:7", "corr-1", T0,
        T0.AddMilliseconds(seq));

    [Fact]
    public void Each_events_json_is_made_once_and_is_what_the_api_renders()
    {
        var stored = new StoredEvents(3) { Event(1, """{"text": "<b>é</b>", "n": 1.50}"""), Event(2, null), Event(3, "{}") };

        var first = Enumerable.Range(0, 3).Select(stored.Json).ToList();
        var again = Enumerable.Range(0, 3).Select(stored.Json).ToList();

        Assert.Equal(stored.Select(JobEventResponse.Render), first);
        Assert.All(Enumerable.Range(0, 3), i => Assert.Same(first[i], again[i]));
        Assert.Contains("\"payload\":{\"text\":\"<b>é</b>\",\"n\":1.50}", first[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Readers_on_several_threads_get_one_json_per_event()
    {
        var stored = new StoredEvents(50);
        stored.AddRange(Enumerable.Range(1, 50).Select(i => Event(i, $$"""{"line": {{i}}}""")));
        using var start = new Barrier(4);

        var seen = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return Enumerable.Range(0, 50).Select(stored.Json).ToList();
        })));

        // Two threads may render one event at the same moment; afterwards every reader gets the kept string.
        var kept = Enumerable.Range(0, 50).Select(stored.Json).ToList();
        Assert.All(seen, list => Assert.Equal(kept, list));
        Assert.All(Enumerable.Range(0, 50), i => Assert.Same(kept[i], stored.Json(i)));
    }
}
