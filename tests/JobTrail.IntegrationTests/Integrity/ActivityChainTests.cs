using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.Activity.Capture;
using JobTrail.Modules.Activity.Sealing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NpgsqlTypes;

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

    [Fact]
    public async Task Eight_concurrent_writers_on_one_workspace_leave_a_gapless_chain_that_verifies()
    {
        var tenant = await fixture.CreateTenantAsync();

        await Task.WhenAll(Enumerable.Range(0, 8).Select(async writer =>
        {
            var client = fixture.Client(tenant.Key);
            for (var i = 0; i < 12; i++)
            {
                var response = i % 4 == 3
                    ? await client.PostJsonAsync("/api/runner-jobs", new { type = "ci", name = $"w{writer}-{i}" })
                    : await client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = $"w{writer}", metadata = new { i } });
                Assert.True(response.Status == 201, response.Body);
            }
        }));
        var rows = await ActivityCountAsync(tenant);

        var result = await WaitSealedAsync(tenant, rows);

        Assert.True(result.Valid, result.Detail);
        Assert.Equal(rows, result.Checked);
        var seqs = await fixture.QueryAsServiceAsync("select seq from activity.chain order by seq", tenant.WorkspaceId.ToString(), r => r.GetInt64(0));
        Assert.Equal(Enumerable.Range(1, (int)rows).Select(i => (long)i), seqs);
        var unlinked = await fixture.QueryAsServiceAsync(
            "select count(*) from activity.activity_logs a where not exists (select from activity.chain c where c.activity_id = a.id)",
            tenant.WorkspaceId.ToString(), r => r.GetInt64(0));
        Assert.Equal(0, unlinked.Single());
    }

    [Fact]
    public async Task A_transaction_that_commits_late_is_linked_before_later_writers()
    {
        var tenant = await fixture.CreateTenantAsync();
        var sealedBefore = (await WaitSealedAsync(tenant, await ActivityCountAsync(tenant))).Checked;
        var state = fixture.App.Services.GetRequiredService<SealerState>();

        // A capture whose command is slow to commit: the recorder's own INSERT, on a connection held open.
        await using var held = new NpgsqlConnection(fixture.App.ServiceConnectionString);
        await held.OpenAsync();
        await using var transaction = await held.BeginTransactionAsync();
        var lateId = Guid.CreateVersion7();
        await using (var insert = new NpgsqlBatch(held, transaction))
        {
            insert.BatchCommands.Add(new NpgsqlBatchCommand("select set_config('app.workspace_id', $1, true)") { Parameters = { new() { Value = tenant.WorkspaceId.ToString() } } });
            insert.BatchCommands.Add(new NpgsqlBatchCommand(ActivityRecorder.InsertSql)
            {
                Parameters =
                {
                    new("id", NpgsqlDbType.Uuid) { Value = lateId },
                    new("workspace_id", NpgsqlDbType.Uuid) { Value = tenant.WorkspaceId },
                    new("actor_id", NpgsqlDbType.Text) { Value = "runner:slow" },
                    new("action", NpgsqlDbType.Text) { Value = "auth.login" },
                    new("entity_type", NpgsqlDbType.Text) { Value = "user" },
                    new("entity_id", NpgsqlDbType.Text) { Value = "late" },
                    new("outcome", NpgsqlDbType.Text) { Value = "SUCCEEDED" },
                    new("metadata", NpgsqlDbType.Jsonb) { Value = "{\"slow\": true}" },
                    new("ip_address", NpgsqlDbType.Inet) { Value = DBNull.Value },
                    new("user_agent", NpgsqlDbType.Text) { Value = DBNull.Value },
                    new("correlation_id", NpgsqlDbType.Text) { Value = "late-commit" },
                    new("occurred_at", NpgsqlDbType.TimestampTz) { Value = DateTime.UtcNow },
                },
            });
            await insert.ExecuteNonQueryAsync();
        }

        // Commands that start after it and commit at once.
        var later = new List<Guid>();
        for (var i = 0; i < 3; i++)
        {
            later.Add((await tenant.Client.PostJsonAsync("/api/activity", new { action = "auth.logout", entityType = "user", entityId = $"quick-{i}" })).EnsureStatus(201).Json.Id());
        }

        // The sealer runs on, but links nothing past the open transaction: the later rows wait for it.
        var rounds = state.Rounds;
        await Eventually.TrueAsync(() => state.Rounds >= rounds + 3, TimeSpan.FromSeconds(30), "three more sealing rounds");
        var whileHeld = Verification.From((await tenant.Client.GetJsonAsync("/api/activity/verify")).EnsureStatus(200).Json);
        Assert.Equal((true, sealedBefore), (whileHeld.Valid, whileHeld.Checked));
        var ready = await HttpClientJsonExtensions.ReadAsync(await fixture.AnonymousClient().GetAsync("/health/ready"));
        Assert.True(ready.Json.GetProperty("checks").GetProperty("activity_sealer").GetProperty("data").GetProperty("lagSeconds").GetDouble() > 0);

        await transaction.CommitAsync();
        var result = await WaitSealedAsync(tenant, sealedBefore + 4);

        Assert.True(result.Valid, result.Detail);
        Assert.Equal(sealedBefore + 4, result.Checked);
        var order = await fixture.QueryAsServiceAsync(
            "select activity_id from activity.chain where seq > " + sealedBefore + " order by seq", tenant.WorkspaceId.ToString(), r => r.GetGuid(0));
        Assert.Equal([lateId, .. later], order);
    }

    [Fact]
    public async Task Sealers_racing_each_other_link_every_row_exactly_once()
    {
        var tenant = await fixture.CreateTenantAsync();
        var sealer = fixture.App.Services.GetRequiredService<ActivityChainSealer>();
        using var stop = new CancellationTokenSource();
        var racers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var active = 0;
            while (!stop.IsCancellationRequested)
            {
                active += (await sealer.SealOnceAsync(CancellationToken.None)).Active ? 1 : 0;
            }

            return active;
        })).ToList();

        await Task.WhenAll(Enumerable.Range(0, 4).Select(async writer =>
        {
            for (var i = 0; i < 10; i++)
            {
                (await tenant.Client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = $"r{writer}-{i}" })).EnsureStatus(201);
            }
        }));
        await WaitSealedAsync(tenant, await ActivityCountAsync(tenant));
        await stop.CancelAsync();
        var activeRounds = await Task.WhenAll(racers);

        // Counted once the racers have stopped, so the comparison is between settled numbers.
        var rows = await ActivityCountAsync(tenant);
        var result = await WaitSealedAsync(tenant, rows);
        Assert.True(result.Valid, result.Detail);
        Assert.Equal(rows, result.Checked);
        Assert.True(activeRounds.Sum() > 0);
        var links = await fixture.QueryAsServiceAsync("select count(*), count(distinct activity_id) from activity.chain", tenant.WorkspaceId.ToString(),
            r => (r.GetInt64(0), r.GetInt64(1)));
        Assert.Equal((rows, rows), links.Single());
    }

    [Fact]
    public async Task Verifying_needs_activity_read_and_a_bad_range_is_400()
    {
        var reader = await fixture.CreateTenantAsync("jobs:read");

        (await reader.Client.GetJsonAsync("/api/activity/verify")).EnsureProblem(403, "missing_scope");
        (await fixture.Client().GetJsonAsync("/api/activity/verify?fromSeq=0")).EnsureProblem(400, "validation_failed");
        (await fixture.Client().GetJsonAsync("/api/activity/verify?fromSeq=5&toSeq=4")).EnsureProblem(400, "validation_failed");
        (await fixture.Client().GetJsonAsync("/api/activity/verify?toSeq=abc")).EnsureProblem(400);
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
