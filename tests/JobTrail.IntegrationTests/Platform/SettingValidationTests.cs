using JobTrail.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Options;

namespace JobTrail.IntegrationTests.Platform;

public sealed class SettingValidationTests
{
    [Theory]
    [InlineData("JobTrail:Activity:RetentionDays", "0", "JobTrail__Activity__RetentionDays")]
    [InlineData("JobTrail:Activity:PartitionsAhead", "25", "JobTrail__Activity__PartitionsAhead")]
    [InlineData("JobTrail:Activity:SealBatchSize", "0", "JobTrail__Activity__SealBatchSize")]
    [InlineData("JobTrail:Activity:SealInterval", "00:05:00", "JobTrail__Activity__SealInterval")]
    [InlineData("JobTrail:Activity:PartitionMaintenanceInterval", "00:00:00.1", "JobTrail__Activity__PartitionMaintenanceInterval")]
    [InlineData("JobTrail:RateLimit:PerSecond", "0", "JobTrail__RateLimit__PerSecond")]
    [InlineData("JobTrail:RateLimit:Burst", "-1", "JobTrail__RateLimit__Burst")]
    [InlineData("JobTrail:RateLimit:RecordWindow", "00:00:00", "JobTrail__RateLimit__RecordWindow")]
    [InlineData("JobTrail:Relay:BatchSize", "0", "JobTrail__Relay__BatchSize")]
    [InlineData("JobTrail:Relay:MaxBackoff", "00:00:00.001", "JobTrail__Relay__MaxBackoff")]
    [InlineData("JobTrail:Relay:Partitions", "0", "JobTrail__Relay__Partitions")]
    [InlineData("JobTrail:Relay:Partitions", "5000", "JobTrail__Relay__Partitions")]
    [InlineData("JobTrail:Events:Stream:Heartbeat", "00:00:00", "JobTrail__Events__Stream__Heartbeat")]
    [InlineData("JobTrail:Events:GroupCommit:Writers", "0", "JobTrail__Events__GroupCommit__Writers")]
    [InlineData("JobTrail:Events:GroupCommit:Writers", "65", "JobTrail__Events__GroupCommit__Writers")]
    [InlineData("JobTrail:Events:Stream:MaxShareOfWorkspacePerKey", "1.5", "JobTrail__Events__Stream__MaxShareOfWorkspacePerKey")]
    [InlineData("JobTrail:RateLimit:ReplenishmentPeriod", "00:00:00", "JobTrail__RateLimit__ReplenishmentPeriod")]
    [InlineData("JobTrail:Limits:MaxBodyBytes", "0", "JobTrail__Limits__MaxBodyBytes")]
    [InlineData("JobTrail:Bootstrap:ApiKey", "jt_not-a-key", "JobTrail__Bootstrap__ApiKey")]
    [InlineData("JobTrail:Bootstrap:Workspace", "Not A Slug", "JobTrail__Bootstrap__Workspace")]
    [InlineData("JobTrail:Access:KeyCacheMaxAge", "00:05:00", "JobTrail__Access__KeyCacheMaxAge")]
    [InlineData("JobTrail:Access:KeyCacheMaxAge", "-00:00:01", "JobTrail__Access__KeyCacheMaxAge")]
    [InlineData("JobTrail:Postgres", "", "JobTrail__Postgres")]
    [InlineData("JobTrail:Valkey", "", "JobTrail__Valkey")]
    public async Task A_bad_setting_stops_start_up_naming_its_variable(string key, string value, string variable)
    {
        // Checked before the first connection: the database need not exist.
        await using var app = await JobTrailApp.WithoutDatabaseAsync(new Dictionary<string, string?> { [key] = value });

        var error = Assert.Throws<OptionsValidationException>(() => app.Server);

        Assert.Contains(variable, error.Message, StringComparison.Ordinal);
    }
}
