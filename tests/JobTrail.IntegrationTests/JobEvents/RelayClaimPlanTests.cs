using System.Text.Json;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.JobEvents.Relay;
using Npgsql;

namespace JobTrail.IntegrationTests.JobEvents;

/// <summary>
/// The relay's claim must cost the same per row with 10 rows in the outbox as with 30,000. A queue's
/// statistics always describe another moment and a prepared statement keeps its plan, so the claim is
/// planned with indexes only (<see cref="JobEventRelay.QueuePlans"/>): the plan asked for here, on a
/// small outbox whose statistics say it is empty, is the one a prepared claim would keep under a backlog.
/// </summary>
public sealed class RelayClaimPlanTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_claim_walks_the_primary_key_in_order_and_probes_held_jobs_by_index(bool somePartitions)
    {
        await fixture.ScalarAsOwnerAsync<int>("analyze job_events.outbox; select 1");

        await using var connection = new NpgsqlConnection(fixture.App.OwnerConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using var batch = JobEventRelay.ClaimBatch(connection, transaction, 1000, 16, somePartitions ? [0, 3, 7] : null);
        var last = batch.BatchCommands[^1];
        last.CommandText = "explain (format json) " + last.CommandText;
        await using var reader = await batch.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "EXPLAIN returned no plan.");
        using var plan = JsonDocument.Parse(reader.GetString(0));
        var nodes = new List<string>();
        Walk(plan.RootElement[0].GetProperty("Plan"), nodes);
        var shown = string.Join(" / ", nodes);

        Assert.False(nodes.Any(n => n.StartsWith("Seq Scan", StringComparison.Ordinal) || n == "Sort"), $"The claim scans or sorts the outbox: {shown}");
        Assert.True(nodes.Contains("Index Scan (outbox_pkey)"), shown);
        Assert.True(nodes.Any(n => n.Contains("(outbox_blocked_jobs)", StringComparison.Ordinal)), shown);
    }

    [Fact]
    public async Task The_relays_transaction_commits_without_waiting_for_its_wal_flush()
    {
        await using var connection = new NpgsqlConnection(fixture.App.OwnerConnectionString);
        await connection.OpenAsync();
        // The session as a service connection has it (whatever this test server's default is).
        await using (var on = new NpgsqlCommand("set synchronous_commit = on", connection))
        {
            await on.ExecuteNonQueryAsync();
        }

        await using (var transaction = await connection.BeginTransactionAsync())
        {
            await using (var batch = JobEventRelay.ClaimBatch(connection, transaction, 10, 16, null))
            {
                await using var reader = await batch.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                }
            }

            await using var show = new NpgsqlCommand("show synchronous_commit", connection, transaction);
            Assert.Equal("off", (string?)await show.ExecuteScalarAsync());
            await transaction.RollbackAsync();
        }

        // Local to the relay's transaction: the session, and every later transaction on it, flush on commit again.
        await using var after = new NpgsqlCommand("show synchronous_commit", connection);
        Assert.Equal("on", (string?)await after.ExecuteScalarAsync());
    }

    private static void Walk(JsonElement node, List<string> nodes)
    {
        var type = node.GetProperty("Node Type").GetString()!;
        nodes.Add(node.TryGetProperty("Index Name", out var index) ? $"{type} ({index.GetString()})" : type);
        if (node.TryGetProperty("Plans", out var children))
        {
            foreach (var child in children.EnumerateArray())
            {
                Walk(child, nodes);
            }
        }
    }
}
