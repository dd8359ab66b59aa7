using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>A host whose Valkey is a 3-master, 3-replica cluster of its own, with the relay on.</summary>
public sealed class ValkeyClusterFixture : JobTrailFixture
{
    public ValkeyClusterFixture()
        : base(
            new Dictionary<string, string?>
            {
                ["JobTrail:Relay:Enabled"] = "true",
                ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
                ["JobTrail:Relay:MinBackoff"] = "00:00:00.050",
                ["JobTrail:Relay:MaxBackoff"] = "00:00:00.500",
                ["JobTrail:Events:Stream:CatchUpInterval"] = "00:00:01",
                ["JobTrail:Events:Stream:OfflinePollInterval"] = "00:00:00.200",
                // About the path through the relay, Valkey and PostgreSQL: the emitting instance's own head start (ADR 0044) would get there first.
                ["JobTrail:Events:Stream:LocalDelivery"] = "false",
                // Cached keys live a minute: only the revocation message over the cluster can end them sooner.
                ["JobTrail:Access:KeyCacheMaxAge"] = "00:01:00",
                // A bucket's key expires once the bucket would be full again (burst / rate + 1 s): at 1,000/s with the
                // fixture's burst of a million that outlasts the class, not 2 s that a loaded machine can overrun before a test looks.
                ["JobTrail:RateLimit:PerSecond"] = "1000",
            },
            null)
    {
    }

    public ValkeyCluster Cluster { get; } = new();

    /// <summary>A second instance on the same database and cluster.</summary>
    internal JobTrailApp Other { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        await Cluster.StartAsync();
        SetSetting("JobTrail:Valkey", Cluster.Configuration);
        await base.InitializeAsync();
        Other = StartAnotherInstance();
    }

    public override async Task DisposeAsync()
    {
        try
        {
            if (Other is not null)
            {
                await Other.DisposeAsync();
            }

            await base.DisposeAsync();
        }
        finally
        {
            await Cluster.DisposeAsync();
        }
    }
}

// Part of the default run; the trait runs it alone: scripts/test.sh --filter Category=ValkeyCluster.
[Trait("Category", "ValkeyCluster")]
public sealed class ValkeyClusterTests(ValkeyClusterFixture fixture) : IClassFixture<ValkeyClusterFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Events_reach_the_stream_on_the_cluster_and_an_sse_client_once_each_in_order()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        await using var sse = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        var acknowledged = new List<long> { 1, 2 };
        for (var i = 0; i < 20; i++)
        {
            acknowledged.Add((await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201).Json.Seq());
        }

        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        acknowledged.Add(acknowledged[^1] + 1);

        await sse.WaitForEndAsync(Deadline);
        Assert.Equal(acknowledged, sse.Events.Select(e => e.Id!.Value));
        using var valkey = new ValkeyClient(fixture.Cluster.Configuration, NullLogger<ValkeyClient>.Instance);
        var stream = await Eventually.GetAsync(
            () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 1000), s => s.Count == acknowledged.Count, Deadline, "the job's stream on the cluster to hold every event");
        Assert.Equal(acknowledged, stream.Select(e => e.Seq));
    }

    [Fact]
    public async Task Killing_the_master_of_a_jobs_slot_during_delivery_loses_nothing_and_duplicates_nothing_at_the_sse_client()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);
        await using var sse = await SseClient.OpenAsync(client, $"/api/runner-jobs/{jobId}/events/stream");
        var acknowledged = new List<long> { 1, 2 };

        async Task EmitAsync(int from, int to)
        {
            for (var i = from; i < to; i++)
            {
                acknowledged.Add((await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { i } })).EnsureStatus(201).Json.Seq());
            }
        }

        await EmitAsync(0, 30);
        var master = await fixture.Cluster.MasterOfAsync(ValkeyKeys.Stream(jobId));
        // Only a replica that has the master's data may take over (cluster-replica-validity-factor).
        await fixture.Cluster.WaitUntilReplicatedAsync(master, Deadline);
        fixture.Cluster.Kill(master);
        await EmitAsync(30, 70);
        // A replica took the slot over: the cluster serves the job's keys from another node.
        var successor = await fixture.Cluster.DiagnosedAsync(() => Eventually.GetAsync(
            () => fixture.Cluster.MasterOfAsync(ValkeyKeys.Stream(jobId)), port => port != 0 && port != master, Deadline, "a replica to take over the slot"));
        Assert.NotEqual(master, successor);
        await EmitAsync(70, 100);
        (await client.SetJobStatusAsync(jobId, "COMPLETED")).EnsureStatus(200);
        acknowledged.Add(acknowledged[^1] + 1);

        Assert.Equal(acknowledged, (await client.ListAllEventsAsync(jobId)).Select(e => e.Seq()));
        await sse.WaitForEndAsync(Deadline);
        var seen = sse.Events.Select(e => e.Id!.Value).ToList();
        Assert.Empty(acknowledged.Except(seen));
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(acknowledged, seen);
    }

    [Fact]
    public async Task A_master_killed_as_soon_as_the_cluster_is_up_is_replaced_by_its_replica()
    {
        // A cluster of its own: the one the hosts use has been up for a while, this one has just said it is ready.
        await using var cluster = new ValkeyCluster();
        await cluster.StartAsync();
        const string key = "jobtrail:{job:fresh}:events";
        var master = await cluster.MasterOfAsync(key);
        Assert.NotEqual(0, master);

        cluster.Kill(master);

        var successor = await cluster.DiagnosedAsync(() => Eventually.GetAsync(
            () => cluster.MasterOfAsync(key), port => port != 0 && port != master, Deadline, "a replica to take over the slot"));
        Assert.NotEqual(master, successor);
    }

    [Fact]
    public async Task A_key_revoked_on_one_instance_is_refused_by_another_through_the_cluster()
    {
        var tenant = await fixture.CreateTenantAsync("jobs:read", "admin");
        var runnerKey = await fixture.CreateKeyAsync(tenant.WorkspaceId, "runner:cluster", ["jobs:read"], tenant.Key);
        var onOther = JobTrail.IntegrationTests.Access.KeyCacheSupport.ClientOf(fixture.Other, runnerKey);
        await JobTrail.IntegrationTests.Access.KeyCacheSupport.WarmAsync(fixture.Other, onOther);

        await JobTrail.IntegrationTests.Access.KeyCacheSupport.RevokeAsync(
            tenant.Client, tenant.WorkspaceId, JobTrail.IntegrationTests.Access.KeyCacheSupport.KeyId(runnerKey));

        // Well inside the minute the other instance's cache would trust the key.
        var refused = await Eventually.GetAsync(() => onOther.GetJsonAsync("/api/runner-jobs"), r => r.Status == 401, TimeSpan.FromSeconds(10),
            "the other instance to refuse the revoked key");
        refused.EnsureProblem(401, "unauthorized");
    }

    [Fact]
    public async Task A_keys_rate_limit_bucket_and_stream_leases_live_on_the_cluster()
    {
        var tenant = await fixture.CreateTenantAsync();
        var key = JobTrail.IntegrationTests.Access.KeyCacheSupport.KeyId(tenant.Key);
        var jobId = (await tenant.Client.CreateJobAsync()).Id();
        await using var sse = await SseClient.OpenAsync(tenant.Client, $"/api/runner-jobs/{jobId}/events/stream");

        // The scripts ran on the cluster (a failing one would have fallen back to per-instance counting, silently).
        await using var connection = await ConnectionMultiplexer.ConnectAsync(fixture.Cluster.Configuration);
        var db = connection.GetDatabase();
        Assert.True(await db.KeyExistsAsync(SharedKeys.RateLimit(key)), "no shared bucket for the key on the cluster");
        Assert.Equal(1, await db.SortedSetLengthAsync(SharedKeys.StreamLeases(tenant.WorkspaceId, key)));
        Assert.Equal(1, await db.SortedSetLengthAsync(SharedKeys.StreamLeases(tenant.WorkspaceId)));
    }
}
