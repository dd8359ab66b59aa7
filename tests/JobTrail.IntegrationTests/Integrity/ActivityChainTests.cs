using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Integrity;

/// <summary>Each workspace's activity is linked by the sealer, off the request path, in writer-transaction order.</summary>
public sealed class ActivityChainTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task A_workspaces_activity_is_sealed_within_seconds_and_verifies()
    {
        var tenant = await fixture.CreateTenantAsync();
        var job = (await tenant.Client.CreateJobAsync()).Id();
        (await tenant.Client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
        (await tenant.Client.SetJobStatusAsync(job, "QUEUED")).EnsureProblem(409);
        (await tenant.Client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = "42", metadata = new { b = 1, a = new[] { 1.0, 2.5 } } })).EnsureStatus(201);
        var rows = await ActivityCountAsync(tenant);

        var result = await WaitSealedAsync(tenant, rows);

        Assert.Equal((true, rows, 1L, (long?)rows), (result.Valid, result.Checked, result.FromSeq!.Value, result.LastSeq));
    }

    internal static async Task<Verification> WaitSealedAsync(Tenant tenant, long rows) =>
        await Eventually.GetAsync(
            async () => Verification.From((await tenant.Client.GetJsonAsync("/api/activity/verify")).EnsureStatus(200).Json),
            v => v.Checked >= rows || !v.Valid,
            TimeSpan.FromSeconds(30),
            $"{rows} activity rows to be sealed");

    private async Task<long> ActivityCountAsync(Tenant tenant) =>
        (await fixture.QueryAsServiceAsync("select count(*) from activity.activity_logs", tenant.WorkspaceId.ToString(), r => r.GetInt64(0))).Single();
}
