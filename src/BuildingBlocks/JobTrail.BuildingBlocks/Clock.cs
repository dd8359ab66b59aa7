namespace JobTrail.BuildingBlocks;

public static class ClockExtensions
{
    /// <summary>UTC now at PostgreSQL's precision (microseconds), so what a command returns equals what a later read returns.</summary>
    public static DateTime UtcNowMicros(this TimeProvider clock)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - (now.Ticks % 10), DateTimeKind.Utc);
    }

    public static long? DurationMs(DateTime? startedAt, DateTime? completedAt) =>
        startedAt is { } s && completedAt is { } c ? (long)Math.Round((c - s).TotalMilliseconds) : null;
}
