namespace JobTrail.Benchmarks.Load;

/// <summary>Latency percentiles in milliseconds (nearest rank over every sample).</summary>
internal sealed record LatencySummary(long Count, double Mean, double P50, double P95, double P99, double Max)
{
    public static readonly LatencySummary Empty = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);

    public static LatencySummary Of(IEnumerable<double> samples)
    {
        var sorted = samples.ToArray();
        if (sorted.Length == 0)
        {
            return Empty;
        }

        Array.Sort(sorted);
        return new LatencySummary(sorted.Length, sorted.Average(), Rank(sorted, 0.50), Rank(sorted, 0.95), Rank(sorted, 0.99), sorted[^1]);
    }

    public string Describe() => Count == 0
        ? "no samples"
        : $"p50 {P50:0.00} ms, p95 {P95:0.00} ms, p99 {P99:0.00} ms (mean {Mean:0.00}, max {Max:0.0}, n={Count})";

    private static double Rank(double[] sorted, double quantile)
    {
        var index = (int)Math.Ceiling(quantile * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
