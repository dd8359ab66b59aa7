using System.Text.Json;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.Activity.Features.StreamActivity;
using JobTrail.Modules.Activity.Sealing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobTrail.IntegrationTests.Integrity;

/// <summary>
/// The sealer, its lag probe and the activity feed read the rows after a cursor from the
/// <c>(xact_id, position)</c> index in order. The statistics of a busy table are always older than its
/// newest rows, so PostgreSQL estimates next to nothing after a recent cursor; left to itself it then
/// appends the partitions and sorts them, which over a backlog sorts every row of it for every page
/// (a sealer 10 M rows behind took 7.2 s a round). Each test builds that situation: rows, ANALYZE, then
/// the rows after the cursor, and asks PostgreSQL for the plan of the product's own batch.
/// </summary>
public sealed class ActivityBacklogReadTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Fact]
    public async Task The_sealers_next_rows_come_from_the_index_in_order_not_from_a_sort_of_the_backlog()
    {
        var (_, xact, position) = await BacklogAfterStaleStatisticsAsync();

        await using var connection = new NpgsqlConnection(fixture.App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = ActivityChainSealer.CandidatesBatch(connection, transaction, xact, position, 1000);

        AssertIndexOrder(await PlanOfLastAsync(batch));
    }

    [Fact]
    public async Task The_sealers_lag_probe_starts_at_its_position_in_the_index()
    {
        await BacklogAfterStaleStatisticsAsync();

        await using var connection = new NpgsqlConnection(fixture.App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var batch = ActivityChainSealer.LagBatch(connection);
        var plan = await PlanOfLastAsync(batch);

        AssertIndexOrder(plan);
        // The position is the index condition (one probe), not a join filter over every sealed row.
        Assert.True(plan.Any(n => n.Contains("xact_id_position", StringComparison.Ordinal) && n.EndsWith(", with a condition)", StringComparison.Ordinal)), string.Join(" / ", plan));
    }

    [Fact]
    public async Task A_feed_resumed_before_a_backlog_reads_its_page_from_the_index_in_order()
    {
        var (workspace, xact, position) = await BacklogAfterStaleStatisticsAsync();

        await using var dataSource = NpgsqlDataSource.Create(fixture.App.ServiceConnectionString);
        await using var session = new DbSession(dataSource, fixture.App.Services.GetRequiredService<ReadReplica>());
        await session.BeginAsync(workspace, readOnly: true, CancellationToken.None);
        await using var batch = FeedRows.Batch(
            session, new ActivityFeedFilter(null, null, null, null), new FeedCursor(ulong.Parse(xact, System.Globalization.CultureInfo.InvariantCulture), position), null, 100);

        var plan = await PlanOfLastAsync(batch);
        AssertIndexOrder(plan);
        // The workspace's own index, entered at the workspace and cursor: other workspaces' rows are not walked.
        Assert.True(plan.Any(n => n.Contains("workspace_id_xact_id_position", StringComparison.Ordinal) && n.EndsWith(", with a condition)", StringComparison.Ordinal)), string.Join(" / ", plan));
    }

    [Fact]
    public async Task A_small_workspace_resuming_far_back_reads_only_its_own_rows()
    {
        // A cursor in a small workspace, then 20,000 rows of another workspace, then 10 more of the small one.
        var workspace = Guid.CreateVersion7();
        var other = Guid.CreateVersion7();
        const string Insert = """
            insert into activity.activity_logs (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, occurred_at)
            select gen_random_uuid(), current_setting('app.workspace_id')::uuid, 'runner:feed', 'auth.login', 'user', g::text, 'SUCCEEDED', now()
            from generate_series(1, {0}) g;
            select 1
            """;
        await fixture.ScalarAsOwnerAsync<int>(string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, 5), workspace.ToString());
        var cursor = (await fixture.ScalarAsOwnerAsync<string>(
            "select xact_id::text || ' ' || position::text from activity.activity_logs order by position desc limit 1", workspace.ToString()))!.Split(' ');
        var (xact, position) = (cursor[0], long.Parse(cursor[1], System.Globalization.CultureInfo.InvariantCulture));
        await fixture.ScalarAsOwnerAsync<int>(string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, 20_000), other.ToString());
        await fixture.ScalarAsOwnerAsync<int>(string.Format(System.Globalization.CultureInfo.InvariantCulture, Insert, 10), workspace.ToString());

        await using var dataSource = NpgsqlDataSource.Create(fixture.App.ServiceConnectionString);
        await using var session = new DbSession(dataSource, fixture.App.Services.GetRequiredService<ReadReplica>());
        await session.BeginAsync(workspace, readOnly: true, CancellationToken.None);
        var after = new FeedCursor(ulong.Parse(xact, System.Globalization.CultureInfo.InvariantCulture), position);
        var everything = new ActivityFeedFilter(null, null, null, null);
        // Rows are final (and read) once every transaction older than their writer has ended; other tests' may still run.
        await Eventually.GetAsync(() => FeedRows.ReadAsync(session, everything, after, null, 100, CancellationToken.None),
            read => read.Count == 10, TimeSpan.FromSeconds(20), "the workspace's 10 rows to be final and read after the cursor");
        await using var batch = FeedRows.Batch(session, everything, after, null, 100);
        var plan = await ExplainLastAsync(batch, "analyze, format json");

        // Index entries looked at: the workspace's 10, not the other workspace's 20,000 between them and the cursor.
        Assert.Equal(10, IndexRowsRead(plan));
    }

    /// <summary>Rows the plan's index scans returned or removed by their filters: what they walked.</summary>
    private static long IndexRowsRead(JsonElement node)
    {
        var read = 0L;
        if (node.GetProperty("Node Type").GetString()!.StartsWith("Index", StringComparison.Ordinal))
        {
            read += node.GetProperty("Actual Rows").GetInt64() * node.GetProperty("Actual Loops").GetInt64();
            read += node.TryGetProperty("Rows Removed by Filter", out var removed) ? removed.GetInt64() : 0;
        }

        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                read += IndexRowsRead(child);
            }
        }

        return read;
    }

    [Fact]
    public async Task The_feed_still_reads_the_rows_after_its_cursor_in_order()
    {
        var (workspace, xact, position) = await BacklogAfterStaleStatisticsAsync();

        await using var dataSource = NpgsqlDataSource.Create(fixture.App.ServiceConnectionString);
        await using var session = new DbSession(dataSource, fixture.App.Services.GetRequiredService<ReadReplica>());
        await session.BeginAsync(workspace, readOnly: true, CancellationToken.None);
        var cursor = new FeedCursor(ulong.Parse(xact, System.Globalization.CultureInfo.InvariantCulture), position);
        // Rows are final (and read) once every transaction older than their writer has ended; other tests' may still run.
        var everything = new ActivityFeedFilter(null, null, null, null);
        var rows = await Eventually.GetAsync(() => FeedRows.ReadAsync(session, everything, cursor, null, 100, CancellationToken.None),
            read => read.Count >= 100, TimeSpan.FromSeconds(20), "the backlog's rows to be final and read after the cursor");

        // The backlog is one transaction, so its rows follow the cursor in position order.
        Assert.Equal(100, rows.Count);
        Assert.Equal(Enumerable.Range(1, 100).Select(i => position + i), rows.Select(r => r.Cursor.Position));
    }

    /// <summary>
    /// A new workspace: 50 rows, ANALYZE, then 300 more in a later transaction (past the statistics).
    /// Answers the workspace and the cursor of the last analysed row.
    /// </summary>
    private async Task<(Guid Workspace, string Xact, long Position)> BacklogAfterStaleStatisticsAsync()
    {
        var workspace = Guid.CreateVersion7();
        var insert = """
            insert into activity.activity_logs (id, workspace_id, actor_id, action, entity_type, entity_id, outcome, occurred_at)
            select gen_random_uuid(), current_setting('app.workspace_id')::uuid, 'runner:backlog', 'auth.login', 'user', g::text, 'SUCCEEDED', now()
            from generate_series(1, {0}) g;
            select 1
            """;
        await fixture.ScalarAsOwnerAsync<int>(string.Format(System.Globalization.CultureInfo.InvariantCulture, insert, 50), workspace.ToString());
        var cursor = await fixture.ScalarAsOwnerAsync<string>(
            "select xact_id::text || ' ' || position::text from activity.activity_logs order by position desc limit 1", workspace.ToString());
        await fixture.ScalarAsOwnerAsync<int>("analyze activity.activity_logs; select 1");
        await fixture.ScalarAsOwnerAsync<int>(string.Format(System.Globalization.CultureInfo.InvariantCulture, insert, 300), workspace.ToString());
        var parts = cursor!.Split(' ');
        return (workspace, parts[0], long.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));
    }

    /// <summary>The plan of the batch's last statement as node types and index names.</summary>
    private static async Task<List<string>> PlanOfLastAsync(NpgsqlBatch batch)
    {
        var nodes = new List<string>();
        Walk(await ExplainLastAsync(batch, "format json"), nodes);
        return nodes;
    }

    /// <summary>The batch as it is, with its last statement EXPLAINed with <paramref name="options"/>; answers the plan's root node.</summary>
    private static async Task<JsonElement> ExplainLastAsync(NpgsqlBatch batch, string options)
    {
        var last = batch.BatchCommands[^1];
        last.CommandText = $"explain ({options}) " + last.CommandText;
        await using var reader = await batch.ExecuteReaderAsync();
        while (reader.FieldCount == 0 && await reader.NextResultAsync())
        {
        }

        Assert.True(await reader.ReadAsync(), "EXPLAIN returned no plan.");
        using var plan = JsonDocument.Parse(reader.GetString(0));
        return plan.RootElement[0].GetProperty("Plan").Clone();
    }

    private static void Walk(JsonElement node, List<string> nodes)
    {
        var type = node.GetProperty("Node Type").GetString()!;
        nodes.Add(node.TryGetProperty("Index Name", out var index)
            ? $"{type} ({index.GetString()}{(node.TryGetProperty("Index Cond", out _) ? ", with a condition" : string.Empty)})"
            : type);
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                Walk(child, nodes);
            }
        }
    }

    private static void AssertIndexOrder(List<string> nodes)
    {
        var shown = string.Join(" / ", nodes);
        Assert.False(nodes.Contains("Sort"), $"The plan sorts: {shown}");
        Assert.True(nodes.Any(n => n.StartsWith("Index Scan", StringComparison.Ordinal) && n.Contains("xact_id_position", StringComparison.Ordinal)), shown);
        Assert.True(nodes.Contains("Merge Append") || nodes.Count(n => n.StartsWith("Index Scan", StringComparison.Ordinal)) == 1, shown);
    }
}
