namespace JobTrail.Modules.JobEvents.Features;

/// <summary>
/// One append's events as the group writer stored them, each rendered as its JSON (the event as the REST API returns
/// it) at most once: the emit's 201, this instance's live streams (ADR 0044) and the relay's XADD all send the same
/// bytes, so the first of them to need an event's JSON makes it and the others reuse it. Filled by the writer before
/// the group's COMMIT and only read after; two readers rendering one event at once make the same string, so the cache
/// needs no lock.
/// </summary>
internal sealed class StoredEvents(int capacity) : List<EventRecord>(capacity)
{
    private string?[]? rendered;

    /// <summary>
    /// The JSON of the event at <paramref name="index"/> of any list of stored events: kept and shared when the list is
    /// the writer's <see cref="StoredEvents"/>, made here otherwise (events read back, a replayed key's events).
    /// </summary>
    public static string JsonOf(IReadOnlyList<EventRecord> events, int index) =>
        events is StoredEvents stored ? stored.Json(index) : JobEventResponse.Render(events[index]);

    /// <summary>The JSON of the event at <paramref name="index"/>, made on first use.</summary>
    public string Json(int index)
    {
        var cache = Volatile.Read(ref rendered);
        if (cache is null)
        {
            Interlocked.CompareExchange(ref rendered, new string?[Count], null);
            cache = rendered!;
        }

        var json = Volatile.Read(ref cache[index]);
        if (json is null)
        {
            json = JobEventResponse.Render(this[index]);
            Volatile.Write(ref cache[index], json);
        }

        return json;
    }
}
