using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// A private primary streaming to a private hot standby (<c>pg_basebackup -R</c>), both on loopback
/// ports of their own, and the real host using the standby as <c>JobTrail:PostgresReplica</c>.
/// </summary>
public sealed class ReadReplicaFixture : IAsyncLifetime
{
    private JobTrailApp? app;

    public ReadReplicaFixture() => Standby = PrivatePostgres.StandbyOf(Primary);

    public PrivatePostgres Primary { get; } = new() { ForReplication = true };

    public PrivatePostgres Standby { get; }

    public CapturedLogs Logs { get; } = new();

    public string BootstrapKey { get; } =
        $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    public async Task InitializeAsync()
    {
        try
        {
            await Primary.StartAsync();
            await Standby.StartAsync();
            await TestPostgres.GetAsync();
            app = new JobTrailApp("jobtrail", BootstrapKey, new Dictionary<string, string?>
            {
                ["JobTrail:Postgres"] = Primary.ServiceConnectionString,
                ["JobTrail:PostgresOwner"] = Primary.OwnerConnectionString,
                ["JobTrail:PostgresReplica"] = Standby.ServiceConnectionString,
                ["JobTrail:Relay:Enabled"] = "false",
                ["JobTrail:RateLimit:PerSecond"] = "1000000",
                ["JobTrail:RateLimit:Burst"] = "1000000",
            }, services =>
            {
                services.AddSingleton<ILoggerProvider>(Logs);
                services.Configure<LoggerFilterOptions>(o => o.AddFilter<CapturedLogs>(typeof(ReadReplica).FullName, LogLevel.Information));
            });
            _ = app.Server;
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }
        }
        finally
        {
            NpgsqlConnection.ClearPool(new NpgsqlConnection(Primary.ServiceConnectionString));
            NpgsqlConnection.ClearPool(new NpgsqlConnection(Primary.OwnerConnectionString));
            NpgsqlConnection.ClearPool(new NpgsqlConnection(Standby.ServiceConnectionString));
            await Standby.DisposeAsync();
            await Primary.DisposeAsync();
        }
    }

    public HttpClient Client()
    {
        var client = (app ?? throw new InvalidOperationException("The fixture has not started.")).CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BootstrapKey);
        return client;
    }

    public HttpClient AnonymousClient() => (app ?? throw new InvalidOperationException("The fixture has not started.")).CreateClient();
}

public sealed class ReadReplicaTests(ReadReplicaFixture fixture) : IClassFixture<ReadReplicaFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Lists_read_from_the_replica_while_gets_and_commands_see_their_own_writes_on_the_primary()
    {
        var client = fixture.Client();
        var before = (await client.CreateJobAsync(name: "before the pause")).Id();
        await Eventually.GetAsync(() => JobIdsAsync(client), ids => ids.Contains(before), Deadline, "the replica to replay the first job");

        await fixture.Standby.SuperuserScalarAsync("select pg_wal_replay_pause()");
        Guid during;
        Guid step;
        try
        {
            await Eventually.GetAsync(() => fixture.Standby.SuperuserScalarAsync("select pg_get_wal_replay_pause_state()"),
                state => (string?)state == "paused", Deadline, "replay on the standby to pause");

            during = (await client.CreateJobAsync(name: "while replay is paused")).Id();
            // A single-item get and a command right after the write read the primary: they see the job.
            (await client.GetJsonAsync($"/api/runner-jobs/{during}")).EnsureStatus(200);
            step = (await client.CreateStepAsync(during, "compile")).Id();
            (await client.GetJsonAsync($"/api/runner-jobs/{during}/steps/{step}")).EnsureStatus(200);

            // The lists read the standby, which has not replayed the job yet.
            Assert.DoesNotContain(during, await JobIdsAsync(client));
            Assert.Contains(before, await JobIdsAsync(client));
            (await client.GetJsonAsync($"/api/runner-jobs/{during}/steps")).EnsureProblem(404, "job_not_found");
            (await client.GetJsonAsync($"/api/runner-jobs/{during}/events")).EnsureProblem(404, "job_not_found");
            var audit = (await client.GetJsonAsync($"/api/activity?entityId={during}")).EnsureStatus(200);
            Assert.Empty(audit.Json.GetProperty("items").EnumerateArray());
        }
        finally
        {
            await fixture.Standby.SuperuserScalarAsync("select pg_wal_replay_resume()");
        }

        await Eventually.GetAsync(() => JobIdsAsync(client), ids => ids.Contains(during), Deadline, "the replica to replay the job once resumed");
        // The step committed after the job, so the replica can show the job a moment before its step:
        // wait for the step list to be answered with it, then check it is the one step.
        var steps = await Eventually.GetAsync(() => client.GetJsonAsync($"/api/runner-jobs/{during}/steps"),
            response => response.Status == 200 && response.Json.GetProperty("items").GetArrayLength() > 0, Deadline,
            "the replica to replay the job's step once resumed");
        Assert.Equal(step, Assert.Single(steps.Json.GetProperty("items").EnumerateArray()).GetProperty("id").GetGuid());
    }

    [Fact]
    public async Task While_the_replica_is_down_lists_read_the_primary_and_readiness_is_degraded_until_it_returns()
    {
        var client = fixture.Client();
        await Eventually.GetAsync(ReplicaCheckAsync, status => status == "Healthy", Deadline, "the replica check to be Healthy");
        // Warm the replica's pool, so that the outage meets an idle connection that is already dead.
        (await client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        var mark = fixture.Logs.Mark;

        await fixture.Standby.StopAsync();
        try
        {
            var written = (await client.CreateJobAsync(name: "while the replica is down")).Id();
            for (var i = 0; i < 3; i++)
            {
                // Answered from the primary, so the newest write is in it.
                Assert.Contains(written, await JobIdsAsync(client));
                (await client.GetJsonAsync($"/api/runner-jobs/{written}/events")).EnsureStatus(200);
            }

            var ready = await fixture.AnonymousClient().GetJsonAsync("/health/ready");
            Assert.Equal(200, ready.Status);
            Assert.Equal("Degraded", ready.Json.GetProperty("checks").GetProperty("postgres_replica").GetProperty("status").GetString());
            Assert.Equal("Healthy", ready.Json.GetProperty("checks").GetProperty("postgres").GetProperty("status").GetString());
            Assert.Single(fixture.Logs.Since(mark), e => e.EventId.Name == "ReplicaUnreachable");
        }
        finally
        {
            await fixture.Standby.StartAsync();
        }

        await Eventually.GetAsync(ReplicaCheckAsync, status => status == "Healthy", Deadline, "the replica check to be Healthy again");
        await Eventually.TrueAsync(() => fixture.Logs.Since(mark).Any(e => e.EventId.Name == "ReplicaReachable"), Deadline,
            "the line saying the replica answers again");
    }

    [Fact]
    public async Task Readiness_reports_replay_lag_only_while_the_replica_has_received_more_than_it_replayed()
    {
        var client = fixture.Client();
        await fixture.Standby.SuperuserScalarAsync("select pg_wal_replay_pause()");
        try
        {
            await Eventually.GetAsync(() => fixture.Standby.SuperuserScalarAsync("select pg_get_wal_replay_pause_state()"),
                state => (string?)state == "paused", Deadline, "replay on the standby to pause");
            await client.CreateJobAsync(name: "received, not replayed");
            await Eventually.GetAsync(ReplayLagAsync, lag => lag > 0, Deadline, "a replay lag while a received write waits");
        }
        finally
        {
            await fixture.Standby.SuperuserScalarAsync("select pg_wal_replay_resume()");
        }

        // Caught up: no lag, however long ago the primary last wrote (before, the age of the last replayed write).
        await Eventually.GetAsync(ReplayLagAsync, lag => lag == 0, Deadline, "no replay lag once the replica has replayed all it received");
    }

    private async Task<double?> ReplayLagAsync()
    {
        var ready = await fixture.AnonymousClient().GetJsonAsync("/health/ready");
        return ready.Json.ValueKind == JsonValueKind.Object && ready.Json.GetProperty("checks").TryGetProperty("postgres_replica", out var check)
            && check.TryGetProperty("data", out var data) && data.TryGetProperty("replayLagSeconds", out var lag)
            ? lag.GetDouble()
            : null;
    }

    private static async Task<HashSet<Guid>> JobIdsAsync(HttpClient client)
    {
        var page = (await client.GetJsonAsync("/api/runner-jobs?limit=100")).EnsureStatus(200);
        return page.Json.GetProperty("items").EnumerateArray().Select(j => j.Id()).ToHashSet();
    }

    private async Task<string?> ReplicaCheckAsync()
    {
        var ready = await fixture.AnonymousClient().GetJsonAsync("/health/ready");
        return ready.Json.ValueKind == JsonValueKind.Object && ready.Json.GetProperty("checks").TryGetProperty("postgres_replica", out var check)
            ? check.GetProperty("status").GetString()
            : string.Create(CultureInfo.InvariantCulture, $"{ready.Status} without postgres_replica");
    }
}
