using JobTrail.IntegrationTests.Infrastructure;
using Npgsql;

namespace JobTrail.IntegrationTests.Activity;

public sealed class ActivityIsolationTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task Tenant_b_never_sees_tenant_a_activity_through_the_api()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var jobId = (await a.Client.CreateJobAsync()).Id();
        (await a.Client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        var login = (await a.Client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = "shared-id" })).EnsureStatus(201).Json;
        (await b.Client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = "shared-id" })).EnsureStatus(201);
        var aIds = (await fixture.ActivityRowsAsync(a.WorkspaceId)).Select(r => r.Id).ToHashSet();
        Assert.True(aIds.Count >= 5);

        var seenByB = await b.Client.AllPagesAsync("/api/activity", 1000);
        Assert.NotEmpty(seenByB);
        Assert.All(seenByB, r => Assert.Equal(b.WorkspaceId, r.GetProperty("workspaceId").GetGuid()));
        Assert.DoesNotContain(seenByB, r => aIds.Contains(r.Id()));
        (await b.Client.GetJsonAsync($"/api/activity/{login.Id()}")).EnsureProblem(404, "activity_not_found");
        Assert.Empty(await b.Client.AllPagesAsync($"/api/activity/audit/runner_job/{jobId}", 100));
        Assert.Empty(await b.Client.AllPagesAsync($"/api/activity?entityId={jobId}", 100));
        var bUser = Assert.Single(await b.Client.AllPagesAsync("/api/activity/audit/user/shared-id", 100));
        Assert.Equal(b.WorkspaceId, bUser.GetProperty("workspaceId").GetGuid());
    }

    [Fact]
    public async Task Tenant_b_never_sees_or_writes_tenant_a_activity_in_the_database()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        await a.Client.CreateJobAsync();

        Assert.NotEmpty(await fixture.ActivityRowsAsync(a.WorkspaceId));
        Assert.Equal(0, await CountAsServiceAsync($"workspace_id = '{a.WorkspaceId}'", b.WorkspaceId.ToString()));
        Assert.Equal(0, await CountAsServiceAsync("true", workspace: null));
        Assert.Equal(0, await CountAsServiceAsync("true", workspace: string.Empty));

        var forged = await Assert.ThrowsAsync<PostgresException>(() => fixture.QueryAsServiceAsync(
            $"""
            insert into activity.activity_logs (id, workspace_id, actor_id, action, entity_type, outcome, occurred_at)
            values (gen_random_uuid(), '{a.WorkspaceId}', 'user:mallory', 'auth.login', 'user', 'SUCCEEDED', now())
            """,
            b.WorkspaceId.ToString(), _ => 0));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, forged.SqlState);
    }

    [Theory]
    [InlineData("update activity.activity_logs set action = 'auth.logout'")]
    [InlineData("delete from activity.activity_logs")]
    [InlineData("truncate activity.activity_logs")]
    public async Task The_service_role_may_not_change_or_remove_activity(string sql)
    {
        var a = await fixture.CreateTenantAsync();
        await a.Client.CreateJobAsync();

        var refused = await Assert.ThrowsAsync<PostgresException>(() => fixture.QueryAsServiceAsync(sql, a.WorkspaceId.ToString(), _ => 0));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        Assert.Contains("permission denied", refused.MessageText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_service_role_cannot_reach_a_partition_directly()
    {
        var a = await fixture.CreateTenantAsync();
        var partition = CurrentPartition();

        var refused = await Assert.ThrowsAsync<PostgresException>(() =>
            fixture.QueryAsServiceAsync($"select count(*) from activity.{partition}", a.WorkspaceId.ToString(), r => r.GetInt64(0)));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
    }

    [Theory]
    [InlineData("update activity.activity_logs set action = 'auth.logout'", "UPDATE")]
    [InlineData("delete from activity.activity_logs", "DELETE")]
    [InlineData("truncate activity.activity_logs", "TRUNCATE")]
    [InlineData("update activity.{partition} set action = 'auth.logout'", null)]
    [InlineData("truncate activity.{partition}", "TRUNCATE")]
    public async Task Even_the_owner_cannot_change_or_remove_activity_rows(string sql, string? operation)
    {
        var a = await fixture.CreateTenantAsync();
        await a.Client.CreateJobAsync();
        var before = (await fixture.ActivityRowsAsync(a.WorkspaceId)).Count;

        var statement = sql.Replace("{partition}", CurrentPartition(), StringComparison.Ordinal);
        if (operation is null)
        {
            // Forced row-level security without a policy: addressed directly, a partition shows the owner no rows to change.
            Assert.Equal(0, await fixture.ScalarAsOwnerAsync<long>($"with changed as ({statement} returning 1) select count(*) from changed", a.WorkspaceId.ToString()));
        }
        else
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => fixture.ScalarAsOwnerAsync<long>(statement, a.WorkspaceId.ToString()));
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
            Assert.Contains($"append-only: {operation}", refused.MessageText, StringComparison.Ordinal);
        }

        Assert.Equal(before, (await fixture.ActivityRowsAsync(a.WorkspaceId)).Count);
    }

    [Fact]
    public async Task Positions_grow_with_every_row_across_workspaces()
    {
        var a = await fixture.CreateTenantAsync();
        var b = await fixture.CreateTenantAsync();
        var before = (await fixture.ActivityRowsAsync(a.WorkspaceId)).Max(r => r.Position);

        await b.Client.CreateJobAsync();
        await a.Client.CreateJobAsync();

        var bLast = (await fixture.ActivityRowsAsync(b.WorkspaceId)).Max(r => r.Position);
        var aLast = (await fixture.ActivityRowsAsync(a.WorkspaceId)).Max(r => r.Position);
        Assert.True(before < bLast && bLast < aLast, $"positions {before}, {bLast}, {aLast} do not grow");
    }

    private static string CurrentPartition() => $"activity_logs_{DateTime.UtcNow:yyyy_MM}";

    private async Task<long> CountAsServiceAsync(string where, string? workspace) =>
        Assert.Single(await fixture.QueryAsServiceAsync($"select count(*) from activity.activity_logs where {where}", workspace, r => r.GetInt64(0)));
}
