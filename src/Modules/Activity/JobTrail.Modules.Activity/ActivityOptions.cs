using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace JobTrail.Modules.Activity;

/// <summary>
/// <c>JobTrail:Activity</c>: how long activity is kept (<c>RetentionDays</c>, default 365), how many
/// months of partitions are created ahead (<c>PartitionsAhead</c>, default 3) and how often the
/// partition job runs (<c>PartitionMaintenanceInterval</c>, default one hour); how often the chain
/// sealer runs (<c>SealInterval</c>, default one second), how many rows it links per round
/// (<c>SealBatchSize</c>, default 1000), the sealing lag past which readiness reports it degraded
/// (<c>SealLagWarning</c>, default one minute), and whether it runs at all (<c>SealingEnabled</c>).
/// </summary>
internal sealed record ActivityOptions(int RetentionDays, int PartitionsAhead, TimeSpan PartitionMaintenanceInterval)
{
    public TimeSpan SealInterval { get; init; } = TimeSpan.FromSeconds(1);

    public int SealBatchSize { get; init; } = 1000;

    public TimeSpan SealLagWarning { get; init; } = TimeSpan.FromMinutes(1);

    public bool SealingEnabled { get; init; } = true;

    public const string Section = "JobTrail:Activity";

    public static ActivityOptions From(IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        var retention = Read(section, "RetentionDays", 365, int.Parse);
        var ahead = Read(section, "PartitionsAhead", 3, int.Parse);
        var interval = Read(section, "PartitionMaintenanceInterval", TimeSpan.FromHours(1), TimeSpan.Parse);
        if (retention < 1)
        {
            throw new InvalidOperationException($"{Section}:RetentionDays must be at least 1 (got {retention}).");
        }

        if (ahead is < 1 or > 24)
        {
            throw new InvalidOperationException($"{Section}:PartitionsAhead must be between 1 and 24 (got {ahead}).");
        }

        if (interval < TimeSpan.FromSeconds(1))
        {
            throw new InvalidOperationException($"{Section}:PartitionMaintenanceInterval must be at least one second (got {interval}).");
        }

        var sealInterval = Read(section, "SealInterval", TimeSpan.FromSeconds(1), TimeSpan.Parse);
        var sealBatch = Read(section, "SealBatchSize", 1000, int.Parse);
        var lagWarning = Read(section, "SealLagWarning", TimeSpan.FromMinutes(1), TimeSpan.Parse);
        var sealing = Read(section, "SealingEnabled", true, (text, _) => bool.Parse(text));
        if (sealInterval < TimeSpan.FromMilliseconds(10) || sealInterval > TimeSpan.FromMinutes(1))
        {
            throw new InvalidOperationException($"{Section}:SealInterval must be between 10 ms and one minute (got {sealInterval}).");
        }

        if (sealBatch is < 1 or > 100_000)
        {
            throw new InvalidOperationException($"{Section}:SealBatchSize must be between 1 and 100000 (got {sealBatch}).");
        }

        return new ActivityOptions(retention, ahead, interval)
        {
            SealInterval = sealInterval,
            SealBatchSize = sealBatch,
            SealLagWarning = lagWarning,
            SealingEnabled = sealing,
        };
    }

    private static T Read<T>(IConfigurationSection section, string key, T fallback, Func<string, IFormatProvider, T> parse)
    {
        var text = section[key];
        if (string.IsNullOrWhiteSpace(text))
        {
            return fallback;
        }

        try
        {
            return parse(text, CultureInfo.InvariantCulture);
        }
        catch (FormatException ex)
        {
            throw new InvalidOperationException($"{Section}:{key} is not valid: '{text}'.", ex);
        }
        catch (OverflowException ex)
        {
            throw new InvalidOperationException($"{Section}:{key} is out of range: '{text}'.", ex);
        }
    }
}
