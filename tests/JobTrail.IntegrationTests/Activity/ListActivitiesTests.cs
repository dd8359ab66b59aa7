using System.Globalization;
using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Activity;

/// <summary>
/// One workspace with 5,000 activity rows: 500 recorded through POST /api/activity, 16 at a time,
/// and 4,500 inserted by the owner in one statement (the way an import would), spread over
/// actors, actions (with look-alike decoys for the prefix filter), entities and outcomes.
/// </summary>
public sealed class SeededActivityFixture : JobTrailFixture
{
    public const int RecordedThroughApi = 500;
    public const int InsertedBySql = 4500;

    public Tenant Tenant { get; private set; } = null!;

    /// <summary>
    /// The SQL rows occur one second apart from here: the start of the previous UTC month, so that no row the API
    /// records while the class runs can fall among them (early in a month, "now" is inside the seeded range).
    /// </summary>
    public DateTime MonthStart { get; private set; }

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Tenant = await CreateTenantAsync();
        var now = DateTime.UtcNow;
        MonthStart = new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(-1);
        await ScalarAsOwnerAsync<string>($"select activity.ensure_partition('activity_logs', '{MonthStart:yyyy-MM-dd}')");

        string[] actions = ["auth.login", "auth.logout", "auth.password_reset"];
        await Parallel.ForEachAsync(Enumerable.Range(0, RecordedThroughApi), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, _) =>
            (await Tenant.Client.PostJsonAsync("/api/activity", new
            {
                action = actions[i % actions.Length],
                entityType = "user",
                entityId = $"u-{i % 25}",
                outcome = i % 5 == 0 ? "FAILED" : "SUCCEEDED",
                metadata = new { n = i },
            })).EnsureStatus(201));

        var inserted = await ScalarAsOwnerAsync<long>($"""
            with inserted as (
                insert into activity.activity_logs
                    (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, metadata, correlation_id, occurred_at)
                select gen_random_uuid(), '{Tenant.WorkspaceId}', 'runner:r' || (g.i % 5), a.action, a.entity_type, 'e-' || (g.i % 40),
                       (array['SUCCEEDED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED', 'DENIED', 'SUCCEEDED', 'SUCCEEDED'])[1 + g.i % 7],
                       jsonb_build_object('i', g.i), 'seed-' || g.i, '{MonthStart:O}'::timestamptz + g.i * interval '1 second'
                from generate_series(0, {InsertedBySql - 1}) as g(i)
                join (values (0, 'runner_job.created', 'runner_job'), (1, 'runner_job.status_changed', 'runner_job'),
                             (2, 'job_step.created', 'job_step'), (3, 'job_step.status_changed', 'job_step'),
                             (4, 'api_key.created', 'api_key'), (5, 'runner_jobs.archived', 'runner_jobs'),
                             (6, 'runner_job_x.done', 'runner_job_x')) as a(k, action, entity_type)
                  on a.k = (g.i / 7) % 7
                returning 1)
            select count(*) from inserted
            """, Tenant.WorkspaceId.ToString());
        Assert.Equal(InsertedBySql, inserted);
    }
}

public sealed class ListActivitiesTests(SeededActivityFixture fixture) : IClassFixture<SeededActivityFixture>
{
    private HttpClient Client => fixture.Tenant.Client;

    [Theory]
    [InlineData(1000)]
    [InlineData(333)]
    [InlineData(97)]
    public async Task Paging_newest_first_over_5000_rows_is_complete_ordered_and_without_overlap(int limit)
    {
        var expected = await IdsAsync("true", newestFirst: true);
        Assert.True(expected.Count >= SeededActivityFixture.RecordedThroughApi + SeededActivityFixture.InsertedBySql);

        var listed = await Client.AllPagesAsync("/api/activity", limit);

        Assert.Equal(expected, listed.Select(a => a.Id()));
    }

    [Fact]
    public async Task Without_a_limit_a_page_holds_100()
    {
        var page = (await Client.GetJsonAsync("/api/activity")).EnsureStatus(200).Json;
        Assert.Equal(100, page.GetProperty("items").GetArrayLength());
        Assert.NotNull(page.Str("nextCursor"));
    }

    public static TheoryData<string, string> Filters() => new()
    {
        { "actorId=runner:r3", "actor_id = 'runner:r3'" },
        { "action=runner_job.created", "action = 'runner_job.created'" },
        { "action=runner_job.*", "starts_with(action, 'runner_job.')" },
        { "action=auth.*", "starts_with(action, 'auth.')" },
        { "action=auth.password_reset", "action = 'auth.password_reset'" },
        { "entityType=job_step", "entity_type = 'job_step'" },
        { "entityType=job_step&entityId=e-7", "entity_type = 'job_step' and entity_id = 'e-7'" },
        { "entityId=u-3", "entity_id = 'u-3'" },
        { "outcome=DENIED", "outcome = 'DENIED'" },
        { "outcome=FAILED&action=auth.*", "outcome = 'FAILED' and starts_with(action, 'auth.')" },
        { "actorId=runner:r1&action=job_step.*&outcome=SUCCEEDED", "actor_id = 'runner:r1' and starts_with(action, 'job_step.') and outcome = 'SUCCEEDED'" },
    };

    [Theory]
    [MemberData(nameof(Filters))]
    public async Task Each_filter_lists_exactly_the_matching_rows_newest_first(string query, string where)
    {
        var expected = await IdsAsync(where, newestFirst: true);
        Assert.NotEmpty(expected);

        var listed = await Client.AllPagesAsync($"/api/activity?{query}", 250);

        Assert.Equal(expected, listed.Select(a => a.Id()));
    }

    [Fact]
    public async Task A_prefix_filter_does_not_match_look_alike_actions()
    {
        var listed = await Client.AllPagesAsync("/api/activity?action=runner_job.*", 1000);

        Assert.Equal(["runner_job.created", "runner_job.status_changed"], listed.Select(a => a.Str("action")).Distinct().Order(StringComparer.Ordinal));
        Assert.NotEmpty(await IdsAsync("action in ('runner_jobs.archived', 'runner_job_x.done')", newestFirst: true));
    }

    [Fact]
    public async Task From_is_inclusive_and_to_is_exclusive()
    {
        var from = fixture.MonthStart.AddSeconds(1000);
        var to = fixture.MonthStart.AddSeconds(2000);
        string Iso(DateTime t) => Uri.EscapeDataString(t.ToString("O", CultureInfo.InvariantCulture));

        var window = await Client.AllPagesAsync($"/api/activity?from={Iso(from)}&to={Iso(to)}", 300);
        var since = await Client.AllPagesAsync($"/api/activity?from={Iso(to)}&actorId=runner:r0", 1000);

        Assert.Equal(await IdsAsync($"occurred_at >= '{from:O}' and occurred_at < '{to:O}'", newestFirst: true), window.Select(a => a.Id()));
        Assert.Equal(1000, window.Count);
        Assert.Equal(from, window[^1].GetProperty("occurredAt").GetDateTime().ToUniversalTime());
        Assert.Equal(await IdsAsync($"occurred_at >= '{to:O}' and actor_id = 'runner:r0'", newestFirst: true), since.Select(a => a.Id()));
    }

    [Theory]
    [InlineData(1000)]
    [InlineData(7)]
    public async Task The_audit_trail_of_an_entity_pages_oldest_first_and_completely(int limit)
    {
        var expected = await IdsAsync("entity_type = 'job_step' and entity_id = 'e-7'", newestFirst: false);
        Assert.True(expected.Count > limit || limit == 1000);

        var trail = await Client.AllPagesAsync("/api/activity/audit/job_step/e-7", limit);

        Assert.Equal(expected, trail.Select(a => a.Id()));
    }

    [Theory]
    [InlineData("limit=0")]
    [InlineData("limit=1001")]
    [InlineData("limit=abc")]
    [InlineData("cursor=not-a-cursor")]
    [InlineData("outcome=OK")]
    [InlineData("outcome=succeeded")]
    [InlineData("action=runner_job")]
    [InlineData("action=RUNNER_JOB.*")]
    [InlineData("action=*")]
    [InlineData("action=runner_job.created.*")]
    [InlineData("from=yesterday")]
    [InlineData("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")]
    [InlineData("entityType=Bad-Type")]
    public async Task Malformed_list_parameters_are_a_400(string query)
    {
        (await Client.GetJsonAsync($"/api/activity?{query}")).EnsureProblem(400);
    }

    [Fact]
    public async Task A_cursor_only_continues_the_list_that_issued_it()
    {
        var listCursor = (await Client.GetJsonAsync("/api/activity?limit=2")).EnsureStatus(200).Json.Str("nextCursor")!;
        var trailCursor = (await Client.GetJsonAsync("/api/activity/audit/job_step/e-7?limit=2")).EnsureStatus(200).Json.Str("nextCursor")!;

        (await Client.GetJsonAsync($"/api/activity/audit/job_step/e-7?cursor={listCursor}")).EnsureProblem(400);
        (await Client.GetJsonAsync($"/api/activity?cursor={trailCursor}")).EnsureProblem(400);
        (await Client.GetJsonAsync($"/api/activity/audit/job_step/{new string('x', 201)}")).EnsureProblem(400);
    }

    private Task<List<Guid>> IdsAsync(string where, bool newestFirst) =>
        fixture.QueryAsServiceAsync(
            $"select id from activity.activity_logs where {where} order by position {(newestFirst ? "desc" : "asc")}",
            fixture.Tenant.WorkspaceId.ToString(),
            r => r.GetGuid(0));
}
