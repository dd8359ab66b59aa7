using JobTrail.BuildingBlocks.Integrity;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using static JobTrail.IntegrationTests.Integrity.ChainTestSupport;

namespace JobTrail.IntegrationTests.Integrity;

/// <summary>
/// The tamper matrix: someone holding the database owner's credentials, but not the HMAC key,
/// changes the record behind the service's back. Each time, the verify endpoint and the auditor's
/// tool both name the first bad seq and why, and chains nobody touched still verify.
/// </summary>
public sealed class TamperTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    private const string Events = "job_events.events";
    private const string EventLinks = "job_events.event_links";
    private const string Activity = "activity.activity_logs";
    private const string Chain = "activity.chain";

    [Fact]
    public async Task Changing_one_event_payload_is_a_hash_mismatch_at_its_seq()
    {
        var (tenant, job, untouched) = await JobsAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Events, "events_append_only",
            Sql("update job_events.events set payload = '{\"line\": \"all tests passed\"}' where job_id = $1 and seq = 4", job));

        await AssertEventsFailAsync(tenant, job, 4, ChainFailure.HashMismatch, untouched);
    }

    [Fact]
    public async Task Deleting_a_middle_event_is_a_gap_at_its_seq()
    {
        var (tenant, job, untouched) = await JobsAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Events, "events_append_only",
            Sql("delete from job_events.events where job_id = $1 and seq = 3", job));

        await AssertEventsFailAsync(tenant, job, 3, ChainFailure.Gap, untouched);
    }

    [Fact]
    public async Task Deleting_an_event_and_its_link_is_a_gap_at_its_seq()
    {
        var (tenant, job, untouched) = await JobsAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Events, "events_append_only",
            Sql("delete from job_events.events where job_id = $1 and seq = 5", job));
        await fixture.TamperAsync(tenant.WorkspaceId, EventLinks, "event_links_append_only",
            Sql("delete from job_events.event_links where job_id = $1 and seq = 5", job));

        await AssertEventsFailAsync(tenant, job, 5, ChainFailure.Gap, untouched);
    }

    [Fact]
    public async Task Swapping_two_events_seqs_is_a_hash_mismatch_at_the_first()
    {
        var (tenant, job, untouched) = await JobsAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Events, "events_append_only",
            Sql("update job_events.events set seq = 1000000 where job_id = $1 and seq = 3", job),
            Sql("update job_events.events set seq = 3 where job_id = $1 and seq = 5", job),
            Sql("update job_events.events set seq = 5 where job_id = $1 and seq = 1000000", job));

        await AssertEventsFailAsync(tenant, job, 3, ChainFailure.HashMismatch, untouched);
    }

    [Fact]
    public async Task Rewriting_an_event_links_prev_hash_is_a_broken_link()
    {
        var (tenant, job, untouched) = await JobsAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, EventLinks, "event_links_append_only",
            Sql("update job_events.event_links set prev_hash = sha256('forged'::bytea) where job_id = $1 and seq = 4", job));

        await AssertEventsFailAsync(tenant, job, 4, ChainFailure.BrokenLink, untouched);
    }

    [Fact]
    public async Task An_event_changed_and_rehashed_with_a_wrong_key_is_a_hash_mismatch()
    {
        var (tenant, job, untouched) = await JobsAsync();
        await fixture.TamperAsync(tenant.WorkspaceId, Events, "events_append_only",
            Sql("update job_events.events set payload = '{\"line\": \"all tests passed\"}' where job_id = $1 and seq = 4", job));

        // The forger recomputes the row digest and the link exactly as the service would, only without the key.
        var row = await fixture.OwnerRowAsync(tenant.WorkspaceId,
            "select id, type, step_id, payload::text, actor_id, correlation_id, occurred_at, recorded_at from job_events.events where job_id = $1 and seq = 4",
            r => new EventRecord(r.GetGuid(0), tenant.WorkspaceId, job, 4, r.GetString(1), r.IsDBNull(2) ? null : r.GetGuid(2), r.GetString(3),
                r.GetString(4), r.GetString(5), r.GetDateTime(6), r.GetDateTime(7)), job);
        var prev = await fixture.OwnerRowAsync(tenant.WorkspaceId, "select prev_hash from job_events.event_links where job_id = $1 and seq = 4",
            r => r.GetFieldValue<byte[]>(0), job);
        var digest = ChainFormat.Digest(row);
        var forged = ChainFormat.LinkHash(WrongKey, ChainKind.Events, tenant.WorkspaceId, job, 4, row.OccurredAt, digest, prev);
        await fixture.TamperAsync(tenant.WorkspaceId, EventLinks, "event_links_append_only",
            Sql("update job_events.event_links set row_digest = $2, hash = $3 where job_id = $1 and seq = 4", job, digest, forged));

        await AssertEventsFailAsync(tenant, job, 4, ChainFailure.HashMismatch, untouched);
    }

    [Fact]
    public async Task Cutting_the_tail_while_the_head_still_says_more_is_a_gap()
    {
        var (tenant, job, untouched) = await JobsAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Events, "events_append_only",
            Sql("delete from job_events.events where job_id = $1 and seq = 6", job));
        await fixture.TamperAsync(tenant.WorkspaceId, EventLinks, "event_links_append_only",
            Sql("delete from job_events.event_links where job_id = $1 and seq = 6", job));

        await AssertEventsFailAsync(tenant, job, 6, ChainFailure.Gap, untouched);
    }

    [Fact]
    public async Task Changing_an_activity_actor_is_a_hash_mismatch_at_its_seq()
    {
        var tenant = await SealedActivityAsync();
        var activity = await ActivityAtAsync(tenant, 3);

        await fixture.TamperAsync(tenant.WorkspaceId, Activity, "activity_logs_append_only",
            Sql("update activity.activity_logs set actor_id = 'user:someone-else' where id = $1", activity));

        await AssertActivityFailsAsync(tenant, 3, ChainFailure.HashMismatch);
    }

    [Fact]
    public async Task Deleting_a_middle_activity_row_is_a_gap_at_its_seq()
    {
        var tenant = await SealedActivityAsync();
        var activity = await ActivityAtAsync(tenant, 4);

        await fixture.TamperAsync(tenant.WorkspaceId, Activity, "activity_logs_append_only",
            Sql("delete from activity.activity_logs where id = $1", activity));

        await AssertActivityFailsAsync(tenant, 4, ChainFailure.Gap);
    }

    [Fact]
    public async Task Deleting_a_middle_activity_link_is_a_gap_at_its_seq()
    {
        var tenant = await SealedActivityAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Chain, "chain_append_only",
            Sql("delete from activity.chain where workspace_id = $1 and seq = 3", tenant.WorkspaceId));

        await AssertActivityFailsAsync(tenant, 3, ChainFailure.Gap);
    }

    [Fact]
    public async Task Swapping_two_activity_links_seqs_is_a_broken_link_at_the_first()
    {
        var tenant = await SealedActivityAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Chain, "chain_append_only",
            Sql("update activity.chain set seq = 1000000 where workspace_id = $1 and seq = 2", tenant.WorkspaceId),
            Sql("update activity.chain set seq = 2 where workspace_id = $1 and seq = 5", tenant.WorkspaceId),
            Sql("update activity.chain set seq = 5 where workspace_id = $1 and seq = 1000000", tenant.WorkspaceId));

        await AssertActivityFailsAsync(tenant, 2, ChainFailure.BrokenLink);
    }

    [Fact]
    public async Task Rewriting_an_activity_links_prev_hash_is_a_broken_link()
    {
        var tenant = await SealedActivityAsync();

        await fixture.TamperAsync(tenant.WorkspaceId, Chain, "chain_append_only",
            Sql("update activity.chain set prev_hash = sha256('forged'::bytea) where workspace_id = $1 and seq = 4", tenant.WorkspaceId));

        await AssertActivityFailsAsync(tenant, 4, ChainFailure.BrokenLink);
    }

    [Fact]
    public async Task An_activity_row_changed_and_rehashed_with_a_wrong_key_is_a_hash_mismatch()
    {
        var tenant = await SealedActivityAsync();
        var activity = await ActivityAtAsync(tenant, 3);
        await fixture.TamperAsync(tenant.WorkspaceId, Activity, "activity_logs_append_only",
            Sql("update activity.activity_logs set actor_id = 'user:someone-else' where id = $1", activity));

        var row = await fixture.OwnerRowAsync(tenant.WorkspaceId,
            """
            select actor_id, action, entity_type, entity_id, outcome, metadata::text, ip_address::text, user_agent, correlation_id, occurred_at
            from activity.activity_logs where id = $1
            """,
            r => new ActivityRecord(activity, tenant.WorkspaceId, r.GetString(0), r.GetString(1), r.GetString(2), Text(r, 3), r.GetString(4),
                Text(r, 5), Text(r, 6), Text(r, 7), Text(r, 8), r.GetDateTime(9)), activity);
        var prev = await fixture.OwnerRowAsync(tenant.WorkspaceId, "select prev_hash from activity.chain where workspace_id = $1 and seq = 3",
            r => r.GetFieldValue<byte[]>(0), tenant.WorkspaceId);
        var digest = ChainFormat.Digest(row);
        var forged = ChainFormat.LinkHash(WrongKey, ChainKind.Activity, tenant.WorkspaceId, tenant.WorkspaceId, 3, row.OccurredAt, digest, prev);
        await fixture.TamperAsync(tenant.WorkspaceId, Chain, "chain_append_only",
            Sql("update activity.chain set row_digest = $2, hash = $3 where workspace_id = $1 and seq = 3", tenant.WorkspaceId, digest, forged));

        await AssertActivityFailsAsync(tenant, 3, ChainFailure.HashMismatch);
    }

    [Fact]
    public async Task A_range_that_ends_before_the_tampered_seq_still_verifies_and_one_that_covers_it_does_not()
    {
        var tenant = await SealedActivityAsync();
        var activity = await ActivityAtAsync(tenant, 5);
        await fixture.TamperAsync(tenant.WorkspaceId, Activity, "activity_logs_append_only",
            Sql("update activity.activity_logs set action = 'auth.logout' where id = $1", activity));

        var before = Verification.From((await tenant.Client.GetJsonAsync("/api/activity/verify?fromSeq=2&toSeq=4")).EnsureStatus(200).Json);
        var covering = Verification.From((await tenant.Client.GetJsonAsync("/api/activity/verify?fromSeq=4&toSeq=6")).EnsureStatus(200).Json);
        var tool = await fixture.Audit().VerifyActivityAsync(tenant.WorkspaceId, 4, 6);

        Assert.Equal((true, 3L, 2L, 4L), (before.Valid, before.Checked, before.FromSeq!.Value, before.LastSeq!.Value));
        covering.AssertFails(5, ChainFailure.HashMismatch);
        Assert.Equal((false, 5L, ChainFailure.HashMismatch), (tool.Valid, tool.FirstBadSeq!.Value, tool.Reason));
    }

    /// <summary>A job with six events (seq 1-6) to tamper with, and another that nobody touches.</summary>
    private async Task<(Tenant Tenant, Guid Job, Guid Untouched)> JobsAsync()
    {
        var tenant = await fixture.CreateTenantAsync();
        var jobs = new List<Guid>();
        for (var i = 0; i < 2; i++)
        {
            var job = (await tenant.Client.CreateJobAsync()).Id();
            (await tenant.Client.SetJobStatusAsync(job, "RUNNING")).EnsureStatus(200);
            (await tenant.Client.EmitBatchAsync(job, Enumerable.Range(1, 4).Select(n => (object)new { type = "step.output", payload = new { line = $"line {n}" } })))
                .EnsureStatus(201);
            Assert.True((await EventChainTests.VerifyAsync(tenant.Client, job)).Valid);
            jobs.Add(job);
        }

        return (tenant, jobs[0], jobs[1]);
    }

    private async Task AssertEventsFailAsync(Tenant tenant, Guid job, long seq, string reason, Guid untouched)
    {
        var api = await EventChainTests.VerifyAsync(tenant.Client, job);
        var tool = await fixture.Audit().VerifyEventsAsync(tenant.WorkspaceId, job);

        api.AssertFails(seq, reason);
        Assert.Equal(seq - 1, api.Checked);
        Assert.Equal((false, (long?)seq, reason, seq - 1), (tool!.Valid, tool.FirstBadSeq, tool.Reason, tool.Checked));
        Assert.True((await EventChainTests.VerifyAsync(tenant.Client, untouched)).Valid, "a job nobody touched no longer verifies");
        Assert.True((await fixture.Audit().VerifyEventsAsync(tenant.WorkspaceId, untouched))!.Valid);
    }

    /// <summary>A fresh workspace with eight sealed activity rows; another workspace's chain is left alone.</summary>
    private async Task<Tenant> SealedActivityAsync()
    {
        var tenant = await fixture.CreateTenantAsync();
        for (var i = 0; i < 6; i++)
        {
            (await tenant.Client.PostJsonAsync("/api/activity", new { action = "auth.login", entityType = "user", entityId = $"u{i}", metadata = new { i } }))
                .EnsureStatus(201);
        }

        var rows = (await fixture.QueryAsServiceAsync("select count(*) from activity.activity_logs", tenant.WorkspaceId.ToString(), r => r.GetInt64(0))).Single();
        Assert.True(rows >= 6);
        Assert.True((await ActivityChainTests.WaitSealedAsync(tenant, rows)).Valid);
        return tenant;
    }

    private Task<Guid> ActivityAtAsync(Tenant tenant, long seq) =>
        fixture.OwnerRowAsync(tenant.WorkspaceId, "select activity_id from activity.chain where workspace_id = $1 and seq = $2", r => r.GetGuid(0), tenant.WorkspaceId, seq);

    private async Task AssertActivityFailsAsync(Tenant tenant, long seq, string reason)
    {
        var api = Verification.From((await tenant.Client.GetJsonAsync("/api/activity/verify")).EnsureStatus(200).Json);
        var tool = await fixture.Audit().VerifyActivityAsync(tenant.WorkspaceId);

        api.AssertFails(seq, reason);
        Assert.Equal(seq - 1, api.Checked);
        Assert.Equal((false, (long?)seq, reason, seq - 1), (tool.Valid, tool.FirstBadSeq, tool.Reason, tool.Checked));
        var other = await fixture.CreateTenantAsync();
        var otherRows = (await fixture.QueryAsServiceAsync("select count(*) from activity.activity_logs", other.WorkspaceId.ToString(), r => r.GetInt64(0))).Single();
        Assert.True((await ActivityChainTests.WaitSealedAsync(other, otherRows)).Valid, "a workspace nobody touched no longer verifies");
        Assert.True((await fixture.Audit().VerifyActivityAsync(other.WorkspaceId)).Valid);
    }

    private static string? Text(Npgsql.NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);
}
