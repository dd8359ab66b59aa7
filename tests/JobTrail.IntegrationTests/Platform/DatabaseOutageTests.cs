using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.IntegrationTests.Integrity;
using JobTrail.IntegrationTests.JobEvents;
using JobTrail.Modules.Activity.Capture;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// Runs before the activity recorder's refusal capture and, when armed, stops the host's PostgreSQL
/// first: the one way to reach the capture with the database up for everything before it.
/// </summary>
public sealed class PostgresStopsBeforeRefusalCapture(PrivatePostgres postgres) : IActivityCapture
{
    private int armed;

    public void ArmOnce() => Interlocked.Exchange(ref armed, 1);

    public Task RecordInTransactionAsync(CapturedActivity activity, CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task RecordRefusalAsync(CapturedActivity activity, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref armed, 0) == 1)
        {
            await postgres.StopAsync();
        }
    }
}

/// <summary>
/// The real host on a PostgreSQL cluster of its own (never the shared server), which the tests stop
/// and start; what the host logs is captured, including the database tracker's information lines.
/// </summary>
public abstract class PrivatePostgresFixture : IAsyncLifetime
{
    /// <summary>Not the default (5), so the tests see that the setting is honoured.</summary>
    public const int RetryAfterSeconds = 7;

    private readonly Dictionary<string, string?> settings;
    private JobTrailApp? app;

    protected PrivatePostgresFixture(IReadOnlyDictionary<string, string?> extra)
    {
        RefusalCapture = new PostgresStopsBeforeRefusalCapture(Postgres);
        settings = new Dictionary<string, string?>
        {
            ["JobTrail:Postgres"] = Postgres.ServiceConnectionString,
            ["JobTrail:PostgresOwner"] = Postgres.OwnerConnectionString,
            ["JobTrail:Relay:Enabled"] = "false",
            ["JobTrail:Activity:SealInterval"] = "00:00:00.100",
            [DatabaseAvailability.RetryAfterKey] = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }
    }

    public PrivatePostgres Postgres { get; } = new();

    public CapturedLogs Logs { get; } = new();

    public PostgresStopsBeforeRefusalCapture RefusalCapture { get; }

    public string BootstrapKey { get; } =
        $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    public Guid DefaultWorkspaceId { get; private set; }

    public async Task InitializeAsync()
    {
        try
        {
            await Postgres.StartAsync();
            // The test host's default connection strings come from the run's server, even when the settings replace them.
            await TestPostgres.GetAsync();
            app = new JobTrailApp("jobtrail", BootstrapKey, settings, ConfigureServices);
            _ = app.Server;
            await using var connection = new NpgsqlConnection(Postgres.OwnerConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("select workspace_id from access.workspace_slugs where slug = 'default'", connection);
            DefaultWorkspaceId = (Guid)(await command.ExecuteScalarAsync())!;
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
            NpgsqlConnection.ClearPool(new NpgsqlConnection(Postgres.ServiceConnectionString));
            NpgsqlConnection.ClearPool(new NpgsqlConnection(Postgres.OwnerConnectionString));
            await Postgres.DisposeAsync();
        }
    }

    public HttpClient Client(string? apiKey = null)
    {
        var client = (app ?? throw new InvalidOperationException("The fixture has not started.")).CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey ?? BootstrapKey);
        return client;
    }

    internal JobTrail.Modules.JobEvents.Persistence.GroupCommitWriter Writer =>
        (app ?? throw new InvalidOperationException("The fixture has not started.")).Services
            .GetRequiredService<JobTrail.Modules.JobEvents.Persistence.GroupCommitWriter>();

    public HttpClient AnonymousClient() => (app ?? throw new InvalidOperationException("The fixture has not started.")).CreateClient();

    /// <summary>Starts the stopped server again and waits until it answers.</summary>
    public async Task RestartPostgresAsync()
    {
        await Postgres.StartAsync();
        await Eventually.GetAsync(Postgres.IsAnsweringAsync, up => up, TimeSpan.FromSeconds(60), "the private PostgreSQL to answer again");
    }

    private void ConfigureServices(IServiceCollection services)
    {
        services.AddSingleton<ILoggerProvider>(Logs);
        // The outage's end is an information line; everything else the provider sees at the host's levels.
        services.Configure<LoggerFilterOptions>(o => o.AddFilter<CapturedLogs>(typeof(DatabaseAvailability).FullName, LogLevel.Information));
        // The test's capture first, so that it can stop the database before the recorder writes.
        services.RemoveAll<IActivityCapture>();
        services.AddScoped<IActivityCapture>(_ => RefusalCapture);
        services.AddScoped<IActivityCapture>(sp => sp.GetRequiredService<ActivityRecorder>());
    }
}

/// <summary>The relay on (it needs PostgreSQL too) and polling briefly, so that readiness follows quickly.</summary>
public sealed class DatabaseOutageFixture() : PrivatePostgresFixture(new Dictionary<string, string?>
{
    ["JobTrail:RateLimit:PerSecond"] = "1000000",
    ["JobTrail:RateLimit:Burst"] = "1000000",
    ["JobTrail:Relay:Enabled"] = "true",
    ["JobTrail:Relay:PollInterval"] = "00:00:00.200",
    ["JobTrail:Relay:StandbyPollInterval"] = "00:00:00.200",
    ["JobTrail:Relay:MinBackoff"] = "00:00:00.050",
    ["JobTrail:Relay:MaxBackoff"] = "00:00:00.500",

    // The group writer's helper takes whatever queues behind a busy writer, so that its own connection meets the outage too.
    ["JobTrail:Events:GroupCommit:HelperFromEvents"] = "1",
});

/// <summary>What <c>/health/ready</c> said, printable in a timeout message.</summary>
public sealed record Readiness(int Status, Dictionary<string, string?> Checks, JsonElement Body)
{
    public override string ToString() => $"{Status} {string.Join(", ", Checks.Select(c => $"{c.Key}={c.Value}"))}";
}

public sealed class DatabaseOutageTests(DatabaseOutageFixture fixture) : IClassFixture<DatabaseOutageFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly string[] PostgresComponents = ["postgres", "relay", "activity_sealer"];

    [Fact]
    public async Task While_postgres_is_down_requests_get_503_and_readiness_is_unhealthy_and_both_recover_by_themselves()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        (await client.GetJsonAsync("/api/runner-jobs")).EnsureStatus(200);
        await Eventually.GetAsync(ReadyAsync, r => r.Status == 200 && PostgresComponents.All(c => Check(r, c) == "Healthy"), Deadline,
            "readiness before the outage");
        var mark = fixture.Logs.Mark;

        await fixture.Postgres.StopAsync();
        IReadOnlyList<CapturedLog> duringOutage;
        try
        {
            var unknownKey = $"jt_{Guid.NewGuid():N}_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";
            var failed = new List<ApiResponse>();
            for (var i = 0; i < 3; i++)
            {
                failed.Add(await client.GetJsonAsync("/api/runner-jobs"));
                failed.Add(await client.PostJsonAsync("/api/runner-jobs", new { type = "ci", name = "during the outage" }));
                failed.Add(await client.GetJsonAsync($"/api/runner-jobs/{jobId}"));
                // A key the database cannot be asked about is not an invalid key: 503, not 401.
                failed.Add(await fixture.Client(unknownKey).GetJsonAsync("/api/runner-jobs"));
            }

            Assert.All(failed, AssertUnavailable);

            var unready = await Eventually.GetAsync(ReadyAsync, r => r.Status == 503 && PostgresComponents.All(c => Check(r, c) == "Unhealthy"), Deadline,
                "postgres, relay and activity_sealer to report Unhealthy");
            Assert.Equal("Unhealthy", unready.Body.GetProperty("status").GetString());

            duringOutage = fixture.Logs.Since(mark);
        }
        finally
        {
            await fixture.RestartPostgresAsync();
        }

        // One line for the outage however many requests failed; no stack trace and no 500 log per request.
        Assert.Single(duringOutage, e => e.EventId.Name == "DatabaseUnreachable");
        Assert.Equal(LogLevel.Warning, duringOutage.Single(e => e.EventId.Name == "DatabaseUnreachable").Level);
        Assert.DoesNotContain(duringOutage, e => e.Exception is not null);
        Assert.DoesNotContain(duringOutage, e => e.Category == typeof(ProblemExceptionHandler).FullName);

        // Back by itself: no restart of the host.
        await Eventually.GetAsync(() => client.GetJsonAsync("/api/runner-jobs"), r => r.Status == 200, Deadline, "requests to succeed again");
        (await client.PostJsonAsync("/api/runner-jobs", new { type = "ci", name = "after the outage" })).EnsureStatus(201);
        var ready = await Eventually.GetAsync(ReadyAsync, r => r.Status == 200 && PostgresComponents.All(c => Check(r, c) == "Healthy"), Deadline,
            "postgres, relay and activity_sealer to report Healthy again");
        var sealer = ready.Body.GetProperty("checks").GetProperty("activity_sealer").GetProperty("data");
        Assert.False(sealer.TryGetProperty("lastError", out _), $"the sealer still reports the outage's error: {sealer}");
        await Eventually.TrueAsync(() => fixture.Logs.Since(mark).Any(e => e.EventId.Name == "DatabaseReachable" && e.Level == LogLevel.Information),
            Deadline, "the line saying PostgreSQL is reachable again");
    }

    [Fact]
    public async Task An_emit_while_postgres_is_down_is_a_503_and_the_jobs_chain_goes_on_unbroken_after_it()
    {
        var client = fixture.Client();
        var job = (await client.CreateJobAsync()).Id();
        // Two emits: the second is written ahead from the head the first committed (ADR 0046).
        for (var i = 0; i < 2; i++)
        {
            (await client.EmitEventAsync(job, new { type = "step.output", payload = new { i } })).EnsureStatus(201);
        }

        await fixture.Postgres.StopAsync();
        try
        {
            AssertUnavailable(await client.EmitEventAsync(job, new { type = "step.output", payload = new { i = "down" } }));
        }
        finally
        {
            await fixture.RestartPostgresAsync();
        }

        await Eventually.GetAsync(
            () => client.EmitEventAsync(job, new { type = "step.output", payload = new { i = "after" } }), r => r.Status == 201, Deadline,
            "an emit to succeed again");
        (await client.EmitEventAsync(job, new { type = "step.output", payload = new { i = "next" } })).EnsureStatus(201);

        // Pooled request connections from before the restart each fail once (503) before the pool has fresh ones.
        var page = await Eventually.GetAsync(() => client.GetJsonAsync($"/api/runner-jobs/{job}/events?limit=100"), r => r.Status == 200, Deadline,
            "the job's events to be listed");
        var events = page.Json.GetProperty("items").EnumerateArray().ToList();
        EventsApi.AssertGapless(events);
        Assert.Equal(5, events.Count);
        Assert.DoesNotContain(events, e => e.GetProperty("payload").TryGetProperty("i", out var i) && i.ValueKind == JsonValueKind.String && i.GetString() == "down");
        var verified = await Eventually.GetAsync(() => client.GetJsonAsync($"/api/runner-jobs/{job}/events/verify"), r => r.Status == 200, Deadline,
            "the job's chain to be verified");
        var result = Verification.From(verified.Json);
        Assert.True(result.Valid, result.Detail);
        Assert.Equal(5, result.Checked);
    }

    [Fact]
    public async Task Both_connections_of_the_group_writer_and_its_helper_answer_503_while_postgres_is_down_and_write_again_after_it()
    {
        var client = fixture.Client();
        var jobs = new List<Guid>();
        for (var i = 0; i < 6; i++)
        {
            jobs.Add((await client.CreateJobAsync()).Id());
        }

        var written = jobs.ToDictionary(j => j, _ => 1);

        // A round: two batches per job at once, so that some queue behind the writer's group and the helper takes them.
        async Task<ApiResponse[]> RoundAsync(string phase)
        {
            var sent = jobs.SelectMany(job => Enumerable.Range(0, 2).Select(n =>
                client.EmitBatchAsync(job, Enumerable.Range(0, 2).Select(k => (object)new { type = "step.output", payload = new { phase, n, k } }))
                    .ContinueWith(t => (Job: job, Response: t.Result), TaskScheduler.Default))).ToArray();
            var answered = await Task.WhenAll(sent);
            foreach (var (job, response) in answered.Where(a => a.Response.Status == 201))
            {
                written[job] += 2;
            }

            return [.. answered.Select(a => a.Response)];
        }

        async Task UntilTheHelperTakesAsync(string phase, Action<ApiResponse[]> check)
        {
            var before = fixture.Writer.HelperTaken;
            await Eventually.GetAsync(
                async () =>
                {
                    check(await RoundAsync(phase));
                    return fixture.Writer.HelperTaken > before;
                },
                taken => taken,
                Deadline,
                $"the helper to take a backlog ({phase})");
        }

        await UntilTheHelperTakesAsync("before", answers => Assert.All(answers, a => a.EnsureStatus(201)));

        await fixture.Postgres.StopAsync();
        try
        {
            await UntilTheHelperTakesAsync("down", answers => Assert.All(answers, AssertUnavailable));
        }
        finally
        {
            await fixture.RestartPostgresAsync();
        }

        // A connection that had not noticed the outage fails once more (503); then rounds are written in full, the
        // helper's connection taking its part.
        await Eventually.GetAsync(
            async () =>
            {
                var before = fixture.Writer.HelperTaken;
                var full = (await RoundAsync("after")).All(a => a.Status == 201);
                return full && fixture.Writer.HelperTaken > before;
            },
            ok => ok,
            Deadline,
            "a round written in full, part of it by the helper");

        // Reads on pooled request connections from before the restart each fail once (503) too.
        async Task<T> ReadAsync<T>(Func<Task<T>> read)
            where T : class =>
            await Eventually.GetAsync(
                async () =>
                {
                    try
                    {
                        return await read();
                    }
                    catch (Exception ex) when (ex.Message.Contains("got 503", StringComparison.Ordinal))
                    {
                        return null;
                    }
                },
                r => r is not null,
                Deadline,
                "a read to succeed after the restart") ?? throw new InvalidOperationException("unreachable");

        foreach (var job in jobs)
        {
            var events = await ReadAsync(() => client.ListAllEventsAsync(job));
            EventsApi.AssertGapless(events);
            Assert.Equal(written[job], events.Count);
            Assert.DoesNotContain(events, e => e.GetProperty("payload").TryGetProperty("phase", out var p) && p.GetString() == "down");
            var verified = await ReadAsync(() => EventChainTests.VerifyAsync(client, job));
            Assert.True(verified.Valid, verified.Detail);
            Assert.Equal(written[job], verified.Checked);
        }
    }

    [Fact]
    public async Task A_refusal_that_cannot_be_recorded_because_postgres_is_down_is_a_503_and_its_retry_is_recorded()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();

        // PENDING -> COMPLETED is refused (409); the database goes away just before the refusal is recorded.
        fixture.RefusalCapture.ArmOnce();
        try
        {
            AssertUnavailable(await client.SetJobStatusAsync(jobId, "COMPLETED"));
        }
        finally
        {
            await fixture.RestartPostgresAsync();
        }

        var retried = await Eventually.GetAsync(() => client.SetJobStatusAsync(jobId, "COMPLETED"), r => r.Status != 503, Deadline,
            "the refused request to reach the database again");
        retried.EnsureProblem(409, "invalid_transition");
        var recorded = (await client.GetJsonAsync($"/api/activity?entityId={jobId}&outcome=FAILED")).EnsureStatus(200);
        var failure = Assert.Single(recorded.Json.GetProperty("items").EnumerateArray());
        Assert.Equal("invalid_transition", failure.GetProperty("metadata").GetProperty("error").GetString());
    }

    private async Task<Readiness> ReadyAsync()
    {
        var response = await fixture.AnonymousClient().GetJsonAsync("/health/ready");
        var checks = response.Json.ValueKind == JsonValueKind.Object
            ? response.Json.GetProperty("checks").EnumerateObject().ToDictionary(c => c.Name, c => c.Value.GetProperty("status").GetString())
            : [];
        return new Readiness(response.Status, checks, response.Json);
    }

    private static string? Check(Readiness ready, string name) => ready.Checks.GetValueOrDefault(name);

    internal static void AssertUnavailable(ApiResponse response)
    {
        response.EnsureProblem(503, ProblemExceptionHandler.DatabaseUnavailableCode);
        Assert.Contains("database", response.Detail, StringComparison.Ordinal);
        Assert.Equal(PrivatePostgresFixture.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture),
            Assert.Single(response.Message.Headers.GetValues("Retry-After")));
    }
}

/// <summary>A tiny bucket and a long recording window, on a PostgreSQL of its own.</summary>
public sealed class RateLimitedOutageFixture() : PrivatePostgresFixture(new Dictionary<string, string?>
{
    ["JobTrail:RateLimit:PerSecond"] = "1",
    ["JobTrail:RateLimit:Burst"] = "5",
    ["JobTrail:RateLimit:RecordWindow"] = "01:00:00",
});

public sealed class RateLimitedOutageTests(RateLimitedOutageFixture fixture) : IClassFixture<RateLimitedOutageFixture>
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_rate_limit_rejection_that_cannot_be_recorded_is_a_503_and_the_next_rejection_is_recorded()
    {
        var created = (await fixture.Client().PostJsonAsync($"/api/workspaces/{fixture.DefaultWorkspaceId}/api-keys",
            new { name = "flood", actorId = "runner:flood", scopes = new[] { "jobs:read" } })).EnsureStatus(201);
        var keyId = created.Json.GetProperty("id").GetGuid();
        var flood = fixture.Client(created.Json.GetProperty("key").GetString());

        // The first rejection opens the key's recording window; the database goes away just before it is recorded.
        fixture.RefusalCapture.ArmOnce();
        ApiResponse rejected;
        try
        {
            rejected = await FirstNotOkAsync(flood);
        }
        finally
        {
            await fixture.RestartPostgresAsync();
        }

        DatabaseOutageTests.AssertUnavailable(rejected);

        // Nothing was recorded, so the window must not count as used: the next rejection is recorded.
        var limited = await Eventually.GetAsync(() => FirstNotOkAsync(flood), r => r.Status == 429, Deadline, "a 429 once the database is back");
        limited.EnsureProblem(429, "rate_limited");
        // Recorded before the 429 was answered, so it is there now.
        Assert.Equal(1, await RateLimitedRowsAsync(keyId));
    }

    private static async Task<ApiResponse> FirstNotOkAsync(HttpClient client)
    {
        for (var i = 0; i < 50; i++)
        {
            var response = await client.GetJsonAsync("/api/runner-jobs");
            if (response.Status != 200)
            {
                return response;
            }
        }

        throw new InvalidOperationException("50 requests in a row were not rate limited.");
    }

    private async Task<long> RateLimitedRowsAsync(Guid keyId)
    {
        await using var connection = new NpgsqlConnection(fixture.Postgres.OwnerConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await WorkspaceSetting.ApplyAsync(connection, transaction, fixture.DefaultWorkspaceId, CancellationToken.None);
        await using var command = new NpgsqlCommand(
            "select count(*) from activity.activity_logs where action = 'api_key.rate_limited' and entity_id = $1", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = keyId.ToString() });
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
