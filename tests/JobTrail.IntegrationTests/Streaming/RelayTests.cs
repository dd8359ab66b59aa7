using System.Collections.Concurrent;
using System.Text.Json;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace JobTrail.IntegrationTests.Streaming;

public sealed class FastRelayFixture() : JobTrailFixture(
    new Dictionary<string, string?>
    {
        ["JobTrail:Relay:Enabled"] = "true",
        ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
        ["JobTrail:Relay:StandbyPollInterval"] = "00:00:00.200",
    },
    null);

public sealed class RelayTests(FastRelayFixture fixture) : IClassFixture<FastRelayFixture>, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private readonly ValkeyClient valkey = new(
        Environment.GetEnvironmentVariable("JobTrail__Valkey") ?? throw new InvalidOperationException("JobTrail__Valkey is not set."),
        NullLogger<ValkeyClient>.Instance);

    [Fact]
    public async Task Every_emitted_event_reaches_the_jobs_stream_in_seq_order_and_is_published_once()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        // Subscribe once job.created has been relayed, so every later event must be published exactly once.
        await Eventually.GetAsync(() => valkey.ReadNewestAsync(ValkeyKeys.Stream(jobId), 1), s => s.Count == 1, Deadline, "job.created in the stream");
        var published = new ConcurrentQueue<long>();
        await using (await valkey.SubscribeAsync(ValkeyKeys.Channel(jobId), json => published.Enqueue(ParseSeq(json))))
        {
            (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
            (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 40).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
            for (var i = 0; i < 5; i++)
            {
                (await client.EmitEventAsync(jobId, new { type = "step.progress" })).EnsureStatus(201);
            }

            (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
            const int total = 1 + 1 + 40 + 5 + 1;

            var stream = await Eventually.GetAsync(
                () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 1000), s => s.Count >= total, Deadline, "the stream to hold every event");
            Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), stream.Select(e => e.Seq));
            Assert.Equal(stream.Select(e => e.Seq), stream.Select(e => ParseSeq(e.Json)));
            await Eventually.TrueAsync(() => published.Count >= total - 1, Deadline, "every later event to be published");
            Assert.Equal(Enumerable.Range(2, total - 1).Select(i => (long)i), published);
        }

        var stored = await client.ListAllEventsAsync(jobId);
        var fromStream = await valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 1000);
        Assert.Equal(stored.Select(e => e.GetRawText()), fromStream.Select(e => e.Json));
    }

    [Fact]
    public async Task A_3000_event_job_keeps_about_1000_in_its_stream_and_recent_returns_the_newest_in_order()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        for (var batch = 0; batch < 3; batch++)
        {
            (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 1000).Select(i => (object)new { type = "step.output", payload = new { batch, i } })))
                .EnsureStatus(201);
        }

        await Eventually.GetAsync(() => valkey.ReadNewestAsync(ValkeyKeys.Stream(jobId), 1), s => s.Count == 1 && s[0].Seq == 3001, Deadline, "seq 3001 in the stream");
        var oldest = (await valkey.OldestSeqAsync(ValkeyKeys.Stream(jobId)))!.Value;
        Assert.InRange(3001 - oldest + 1, 1000, 1100);

        var recent = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?count=50")).EnsureStatus(200);
        Assert.Equal("valkey", recent.Message.Headers.GetValues("X-JobTrail-Source").Single());
        Assert.Equal(Enumerable.Range(2952, 50).Select(i => (long)i), recent.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq()));
        Assert.Equal(JsonValueKind.Null, recent.Json.GetProperty("nextCursor").ValueKind);

        // More than the stream holds: PostgreSQL answers, in the same shape.
        var deep = (await client.GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?count=1000")).EnsureStatus(200);
        Assert.Equal(Enumerable.Range(2002, 1000).Select(i => (long)i), deep.Json.GetProperty("items").EnumerateArray().Select(e => e.Seq()));
    }

    [Theory]
    [InlineData("count=0")]
    [InlineData("count=1001")]
    public async Task Recent_rejects_a_count_outside_1_to_1000(string query)
    {
        var jobId = (await fixture.Client().CreateJobAsync()).Id();
        (await fixture.Client().GetJsonAsync($"/api/runner-jobs/{jobId}/events/recent?{query}")).EnsureProblem(400, "validation_failed");
    }

    [Fact]
    public async Task Recent_of_an_unknown_job_is_a_404()
    {
        (await fixture.Client().GetJsonAsync($"/api/runner-jobs/{Guid.CreateVersion7()}/events/recent")).EnsureProblem(404);
    }

    [Fact]
    public async Task Appends_another_instance_wrote_are_read_back_by_their_ranges_and_relayed_whole_and_in_order()
    {
        // On a database of its own: one instance writes with its relay off (its writer hands nothing over, and no
        // relay deletes the rows, so they can be read), then another starts with a relay, which has nothing in
        // its own hand-off and must read every range back from PostgreSQL.
        var database = await TestDatabases.CreateAsync();
        var key = $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32))}";
        try
        {
            Guid first, second;
            List<(long, long)> firstRows, secondRows;
            await using (var writer = new JobTrailApp(database, key, new Dictionary<string, string?> { ["JobTrail:Relay:Enabled"] = "false" }))
            {
                var client = writer.CreateClient();
                client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
                first = (await client.CreateJobAsync()).Id();
                second = (await client.CreateJobAsync()).Id();
                (await client.EmitBatchAsync(first, Enumerable.Range(0, 30).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
                (await client.EmitBatchAsync(second, Enumerable.Range(0, 12).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
                (await client.EmitEventAsync(first, new { type = "step.progress" })).EnsureStatus(201);
                (await client.EmitBatchAsync(first, Enumerable.Range(0, 7).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);

                // One row per append: job.created's, then each request's range.
                firstRows = await OutboxRangesAsync(writer, first);
                secondRows = await OutboxRangesAsync(writer, second);
            }

            Assert.Equal([(1L, 1L), (2L, 31L), (32L, 32L), (33L, 39L)], firstRows);
            Assert.Equal([(1L, 1L), (2L, 13L)], secondRows);

            // Nothing wakes this relay after it starts (no commits, no NOTIFY, polls ten minutes apart), and a batch
            // of 5 events holds fewer than a row of 30: it must go on claiming while rows are left, not sleep after
            // a batch that sent less than BatchSize.
            await using var relay = new JobTrailApp(database, key, new Dictionary<string, string?>
            {
                ["JobTrail:Relay:Enabled"] = "true",
                ["JobTrail:Relay:BatchSize"] = "5",
                ["JobTrail:Relay:PollInterval"] = "00:10:00",
                ["JobTrail:Relay:StandbyPollInterval"] = "00:10:00",
            });
            var reader = relay.CreateClient();
            reader.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            foreach (var (job, total) in new[] { (first, 39), (second, 13) })
            {
                var stream = await Eventually.GetAsync(
                    () => valkey.ReadAfterAsync(ValkeyKeys.Stream(job), 0, 1000), s => s.Count >= total, Deadline, $"the {total} events of a job in its stream");
                Assert.Equal(Enumerable.Range(1, total).Select(i => (long)i), stream.Select(e => e.Seq));
                var stored = await reader.ListAllEventsAsync(job);
                Assert.Equal(stored.Select(e => e.GetRawText()), stream.Select(e => e.Json));
            }

            Assert.Equal(0, relay.Services.GetRequiredService<CommittedEvents>().Taken);
            await Eventually.GetAsync(() => OutboxRangesAsync(relay, first), r => r.Count == 0, Deadline, "the rows to be deleted");
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }

    private static async Task<List<(long, long)>> OutboxRangesAsync(JobTrailApp app, Guid job)
    {
        await using var connection = new Npgsql.NpgsqlConnection(app.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("select seq, last_seq from job_events.outbox where job_id = $1 order by id", connection);
        command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = job });
        await using var rows = await command.ExecuteReaderAsync();
        var ranges = new List<(long, long)>();
        while (await rows.ReadAsync())
        {
            ranges.Add((rows.GetInt64(0), rows.GetInt64(1)));
        }

        return ranges;
    }

    [Fact]
    public async Task An_outbox_row_without_last_seq_as_the_previous_version_wrote_it_is_relayed_as_one_event()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 3).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        await Eventually.GetAsync(() => valkey.ReadNewestAsync(ValkeyKeys.Stream(jobId), 1), s => s.Count == 1 && s[0].Seq == 4, Deadline, "seq 4 in the stream");
        await Eventually.GetAsync(
            () => fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.outbox where job_id = '{jobId}'"), n => n == 0, Deadline, "the rows to be deleted");

        // The stream is gone; a row of the old shape (one per event, no last_seq) points at seq 3 of the batch.
        using (var tamper = ValkeyTamper.FromEnvironment())
        {
            await tamper.DeleteAsync(ValkeyKeys.Stream(jobId));
        }

        await fixture.ScalarAsOwnerAsync<int>(
            $"""
            insert into job_events.outbox (event_id, workspace_id, job_id, seq, created_at)
            select id, workspace_id, job_id, seq, recorded_at from job_events.events where job_id = '{jobId}' and seq = 3;
            select 1
            """,
            fixture.DefaultWorkspaceId.ToString());

        var stream = await Eventually.GetAsync(
            () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 100), s => s.Count >= 1, Deadline, "the old row's event in the stream");
        await Eventually.GetAsync(
            () => fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.outbox where job_id = '{jobId}'"), n => n == 0, Deadline, "the old row to be deleted");
        Assert.Equal([3L], (await valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 100)).Select(e => e.Seq));
        var stored = await client.ListAllEventsAsync(jobId);
        Assert.Equal(stored[2].GetRawText(), stream[0].Json);
    }

    [Fact]
    public async Task A_transaction_that_rolls_back_after_emitting_leaves_no_outbox_row_and_nothing_in_valkey()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await Eventually.GetAsync(() => valkey.ReadNewestAsync(ValkeyKeys.Stream(jobId), 1), s => s.Count == 1, Deadline, "job.created in the stream");
        // Fails at COMMIT, after the event, its outbox row and the NOTIFY were written.
        await fixture.ScalarAsOwnerAsync<int>("""
            create or replace function job_events.fail_marked() returns trigger language plpgsql as $$
            begin
                if new.payload ->> 'fail' = 'at-commit' then raise exception 'forced rollback'; end if;
                return null;
            end $$;
            drop trigger if exists fail_marked on job_events.events;
            create constraint trigger fail_marked after insert on job_events.events
                deferrable initially deferred for each row execute function job_events.fail_marked();
            select 1
            """);
        var published = new ConcurrentQueue<string>();
        await using (await valkey.SubscribeAsync(ValkeyKeys.Channel(jobId), published.Enqueue))
        {
            var failed = await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { fail = "at-commit" } });
            failed.EnsureProblem(500);
            var after = (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { fail = "no" } })).EnsureStatus(201);

            Assert.Equal(2, after.Json.Seq());
            var stream = await Eventually.GetAsync(
                () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 10), s => s.Count >= 2, Deadline, "the second event in the stream");
            Assert.Equal([1L, 2L], stream.Select(e => e.Seq));
            Assert.DoesNotContain(stream, e => e.Json.Contains("at-commit", StringComparison.Ordinal));
            await Eventually.TrueAsync(() => !published.IsEmpty, Deadline, "the second event to be published");
            Assert.Single(published);
        }

        // The publish happens before the relay deletes its rows and commits: wait for that commit.
        await Eventually.GetAsync(
            () => fixture.ScalarAsOwnerAsync<long>($"select count(*) from job_events.outbox where job_id = '{jobId}'"),
            n => n == 0, Deadline, "the outbox rows of the job to be deleted");
    }

    [Fact]
    public async Task Two_relay_instances_on_one_database_split_the_partitions_and_each_relays_its_own_jobs()
    {
        var first = fixture.App.Services.GetRequiredService<RelayState>();
        await Eventually.TrueAsync(() => first.IsActive, Deadline, "the fixture's relay to become active");
        var second = fixture.StartAnotherInstance();
        try
        {
            var secondState = second.Services.GetRequiredService<RelayState>();
            var all = Enumerable.Range(0, 16).ToArray();
            await Eventually.TrueAsync(
                () => first.Partitions.Count > 0 && secondState.Partitions.Count > 0 && first.Partitions.Concat(secondState.Partitions).Order().SequenceEqual(all),
                Deadline, "the 16 partitions to be split between both instances");
            Assert.Empty(first.Partitions.Intersect(secondState.Partitions));

            var client = fixture.Client();
            var jobs = new List<Guid>();
            for (var i = 0; i < 12; i++)
            {
                var jobId = (await client.CreateJobAsync()).Id();
                jobs.Add(jobId);
                (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 20).Select(_ => (object)new { type = "step.output" }))).EnsureStatus(201);
            }

            foreach (var jobId in jobs)
            {
                var stream = await Eventually.GetAsync(() => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 100), s => s.Count == 21, Deadline, "21 events in the stream");
                Assert.Equal(Enumerable.Range(1, 21).Select(i => (long)i), stream.Select(e => e.Seq));
            }

            // The second instance relayed the jobs of its partitions (they never left them during the test).
            var ofSecond = 0;
            foreach (var jobId in jobs)
            {
                var partition = await fixture.ScalarAsOwnerAsync<int>($"select job_events.relay_partition('{jobId}', 16)");
                ofSecond += secondState.Partitions.Contains(partition) ? 1 : 0;
            }

            Assert.True(ofSecond == 0 || secondState.Relayed >= ofSecond * 21, $"the second instance relayed {secondState.Relayed} events of {ofSecond} jobs in its partitions");
        }
        finally
        {
            await second.DisposeAsync();
        }
    }

    [Fact]
    public async Task Groups_send_no_notify_while_this_instance_relays_every_partition_and_notify_again_when_another_relays_some()
    {
        var state = fixture.App.Services.GetRequiredService<RelayState>();
        var writer = fixture.App.Services.GetRequiredService<GroupCommitWriter>();
        await Eventually.TrueAsync(() => state.RelaysEveryPartition, Deadline, "the fixture's relay to hold all 16 partitions");
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        await using var listener = await JobEventsListener.StartAsync(fixture.App.ServiceConnectionString);

        var before = writer.Notifies;
        for (var i = 0; i < 3; i++)
        {
            (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201);
        }

        (await client.EmitBatchAsync(jobId, Enumerable.Range(0, 5).Select(i => (object)new { type = "step.output", payload = new { i } }))).EnsureStatus(201);
        Assert.Equal(before, writer.Notifies);
        // Relayed all the same (this instance's relay is woken in-process).
        await Eventually.GetAsync(() => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 100), s => s.Count == 9, Deadline, "the nine events in the stream");
        // PostgreSQL carried no notification for those groups: notifications arrive in commit order, so one sent now comes first.
        Assert.Equal(["sentinel"], await listener.UntilAsync("sentinel"));

        var second = fixture.StartAnotherInstance();
        try
        {
            var secondState = second.Services.GetRequiredService<RelayState>();
            await Eventually.TrueAsync(
                () => !state.RelaysEveryPartition && secondState.Partitions.Count > 0, Deadline, "the second instance to take partitions");
            before = writer.Notifies;
            (await client.EmitEventAsync(jobId, new { type = "step.output" })).EnsureStatus(201);
            Assert.Equal(before + 1, writer.Notifies);
            Assert.Equal([string.Empty, "sentinel"], await listener.UntilAsync("sentinel"));
        }
        finally
        {
            await second.DisposeAsync();
        }

        await Eventually.TrueAsync(() => state.RelaysEveryPartition, Deadline, "the fixture's relay to hold all 16 partitions again");
        before = writer.Notifies;
        (await client.EmitEventAsync(jobId, new { type = "step.output" })).EnsureStatus(201);
        Assert.Equal(before, writer.Notifies);
        Assert.Equal(["sentinel"], await listener.UntilAsync("sentinel"));
        await Eventually.GetAsync(() => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 100), s => s.Count == 11, Deadline, "the eleven events in the stream");
    }

    /// <summary>A session listening on the relay's channel, recording payloads in arrival order.</summary>
    private sealed class JobEventsListener : IAsyncDisposable
    {
        private readonly NpgsqlConnection connection;
        private readonly string connectionString;
        private readonly List<string> received = [];

        private JobEventsListener(NpgsqlConnection connection, string connectionString)
        {
            this.connection = connection;
            this.connectionString = connectionString;
            connection.Notification += (_, n) => received.Add(n.Payload);
        }

        public static async Task<JobEventsListener> StartAsync(string connectionString)
        {
            var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var listen = new NpgsqlCommand("listen job_events", connection);
            await listen.ExecuteNonQueryAsync();
            return new JobEventsListener(connection, connectionString);
        }

        /// <summary>Sends <paramref name="sentinel"/> on another session and returns (and forgets) what arrived up to it.</summary>
        public async Task<List<string>> UntilAsync(string sentinel)
        {
            await using (var other = new NpgsqlConnection(connectionString))
            {
                await other.OpenAsync();
                await using var notify = new NpgsqlCommand($"select pg_notify('job_events', '{sentinel}')", other);
                await notify.ExecuteNonQueryAsync();
            }

            var deadline = DateTime.UtcNow + Deadline;
            while (!received.Contains(sentinel) && DateTime.UtcNow < deadline)
            {
                await connection.WaitAsync(TimeSpan.FromMilliseconds(Math.Max(1, (deadline - DateTime.UtcNow).TotalMilliseconds)));
            }

            var arrived = received.ToList();
            received.Clear();
            return arrived;
        }

        public ValueTask DisposeAsync() => connection.DisposeAsync();
    }

    private static long ParseSeq(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetProperty("seq").GetInt64();
    }

    public void Dispose() => valkey.Dispose();
}
