using System.Diagnostics;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.JobEvents.Relay;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit.Abstractions;

namespace JobTrail.IntegrationTests.MultiInstance;

public sealed class RelayFailoverFixture : InstancesFixture;

/// <summary>The sharded relay across real processes: partitions spread over live instances and move when one is killed.</summary>
public sealed class RelayFailoverTests(RelayFailoverFixture fixture, ITestOutputHelper output) : IClassFixture<RelayFailoverFixture>, IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly int[] AllPartitions = [.. Enumerable.Range(0, InstancesFixture.Partitions)];

    private readonly ValkeyClient valkey = new(
        Environment.GetEnvironmentVariable("JobTrail__Valkey") ?? throw new InvalidOperationException("JobTrail__Valkey is not set."),
        NullLogger<ValkeyClient>.Instance);

    [Fact]
    public async Task Two_instances_split_the_partitions_and_a_killed_ones_partitions_are_relayed_again_by_the_other_in_order()
    {
        await fixture.EnsureRunningAsync();
        var (a, b) = (fixture.A, fixture.B);
        var split = await Eventually.GetAsync(
            async () => (A: await a.PartitionsAsync(), B: await b.PartitionsAsync()),
            s => s.A.Length > 0 && s.B.Length > 0 && s.A.Concat(s.B).Order().SequenceEqual(AllPartitions),
            Deadline, "the partitions to be spread over both instances");
        Assert.Empty(split.A.Intersect(split.B));
        output.WriteLine($"A holds {string.Join(",", split.A)}; B holds {string.Join(",", split.B)}");

        // Jobs in both instances' partitions, all written through A (the survivor).
        var client = a.Client(fixture.BootstrapKey);
        var jobs = new List<Guid>();
        var ofB = 0;
        while (jobs.Count < 12 || ofB < 3)
        {
            var jobId = (await client.CreateJobAsync()).Id();
            jobs.Add(jobId);
            var partition = await fixture.PartitionOfAsync(jobId);
            ofB += Array.IndexOf(split.B, partition) >= 0 ? 1 : 0;
        }

        long emitted = 0;
        using var stop = new CancellationTokenSource();
        var emitting = Task.Run(async () =>
        {
            for (var round = 0; !stop.IsCancellationRequested; round++)
            {
                foreach (var jobId in jobs)
                {
                    (await client.EmitEventAsync(jobId, new { type = "step.output", payload = new { round } })).EnsureStatus(201);
                    Interlocked.Increment(ref emitted);
                }
            }
        });

        await Eventually.TrueAsync(() => Interlocked.Read(ref emitted) >= jobs.Count * 3 || emitting.IsCompleted, Deadline, "emits before the kill");
        var sinceKill = Stopwatch.StartNew();
        await b.KillAsync();
        await Eventually.GetAsync(a.PartitionsAsync, p => p.SequenceEqual(AllPartitions), Deadline, "A to relay every partition");
        var failover = sinceKill.Elapsed;
        output.WriteLine($"failover: A relays all {AllPartitions.Length} partitions {failover.TotalMilliseconds:0} ms after B was killed");

        var atFailover = Interlocked.Read(ref emitted);
        await Eventually.TrueAsync(() => Interlocked.Read(ref emitted) >= atFailover + (jobs.Count * 3) || emitting.IsCompleted, Deadline, "emits after the failover");
        await stop.CancelAsync();
        await emitting;

        foreach (var jobId in jobs)
        {
            var stored = await client.ListAllEventsAsync(jobId);
            var stream = await Eventually.GetAsync(
                () => valkey.ReadAfterAsync(ValkeyKeys.Stream(jobId), 0, 1000), s => s.Count >= stored.Count, Deadline, $"every event of job {jobId} in its stream");
            // Exactly once each, in seq order, and the very events PostgreSQL holds.
            Assert.Equal(Enumerable.Range(1, stored.Count).Select(i => (long)i), stream.Select(e => e.Seq));
            Assert.Equal(stored.Select(e => e.GetRawText()), stream.Select(e => e.Json));
        }
    }

    public void Dispose() => valkey.Dispose();
}
