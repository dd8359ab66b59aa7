using System.Net.Sockets;
using System.Text;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.IntegrationTests.Infrastructure;
using JobTrail.Modules.Activity.Contracts;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Npgsql;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// A loopback relay between the host and PostgreSQL that records, per connection, each flight of
/// bytes the host sends before it waits for an answer: one flight is one network round trip.
/// </summary>
internal sealed class WireRecorder : IAsyncDisposable
{
    private readonly TcpListener listener = new(System.Net.IPAddress.Loopback, 0);
    private readonly CancellationTokenSource stop = new();
    private readonly List<Link> links = [];
    private readonly Task accepting;

    public WireRecorder()
    {
        listener.Start();
        accepting = AcceptAsync();
    }

    public int Port => ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;

    public (string Host, int Port) Upstream { get; set; }

    /// <summary>Every connection's flights so far.</summary>
    public IReadOnlyList<IReadOnlyList<byte[]>> Connections()
    {
        lock (links)
        {
            return [.. links.Select(l => l.Snapshot())];
        }
    }

    public void Clear()
    {
        lock (links)
        {
            links.ForEach(l => l.Clear());
        }
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var server = new TcpClient();
            await server.ConnectAsync(Upstream.Host, Upstream.Port);
            var link = new Link(client, server);
            lock (links)
            {
                links.Add(link);
            }

            link.Start(stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        await accepting;
        lock (links)
        {
            links.ForEach(l => l.Close());
        }

        stop.Dispose();
    }

    private sealed class Link(TcpClient client, TcpClient server)
    {
        private readonly List<byte[]> flights = [];
        private MemoryStream? current;

        public void Start(CancellationToken cancellationToken)
        {
            _ = PumpAsync(client.GetStream(), server.GetStream(), fromHost: true, cancellationToken);
            _ = PumpAsync(server.GetStream(), client.GetStream(), fromHost: false, cancellationToken);
        }

        public IReadOnlyList<byte[]> Snapshot()
        {
            lock (flights)
            {
                return current is null ? [.. flights] : [.. flights, current.ToArray()];
            }
        }

        public void Clear()
        {
            lock (flights)
            {
                flights.Clear();
                current = null;
            }
        }

        public void Close()
        {
            client.Dispose();
            server.Dispose();
        }

        private async Task PumpAsync(NetworkStream from, NetworkStream to, bool fromHost, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    lock (flights)
                    {
                        if (fromHost)
                        {
                            // Bytes sent before any answer arrived belong to the same flight.
                            (current ??= new MemoryStream()).Write(buffer, 0, read);
                        }
                        else if (current is not null)
                        {
                            flights.Add(current.ToArray());
                            current = null;
                        }
                    }

                    await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // The other side closed: nothing more to relay.
            }
            finally
            {
                Close();
            }
        }
    }
}

public sealed class RoundTripFixture() : JobTrailFixture(settings: null, configureServices: Reroute)
{
    internal static WireRecorder Recorder { get; } = new();

    /// <summary>The host's data source goes through the recorder, in clear text so the flights can be read.</summary>
    private static void Reroute(IServiceCollection services) =>
        services.AddSingleton(sp =>
        {
            var target = new NpgsqlConnectionStringBuilder(sp.GetRequiredService<DatabaseOptions>().ServiceConnectionString);
            Recorder.Upstream = (target.Host!, target.Port);
            target.Host = "127.0.0.1";
            target.Port = Recorder.Port;
            target.SslMode = SslMode.Disable;
            // A prepared statement is sent without its text; unprepared, every flight can be read (the count is the same).
            target.MaxAutoPrepare = 0;
            return new NpgsqlDataSourceBuilder(target.ConnectionString).Build();
        });

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Recorder.DisposeAsync();
    }
}

/// <summary>
/// Round trips of a request's session, counted on the wire: BEGIN and the workspace setting travel
/// with the first statement, and a read-only query is a single round trip with no COMMIT.
/// </summary>
public sealed class RoundTripTests(RoundTripFixture fixture, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<RoundTripFixture>
{
    [Fact]
    public async Task Get_of_one_job_is_one_round_trip()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        RoundTripFixture.Recorder.Clear();

        var response = await client.GetAsync($"/api/runner-jobs/{jobId}");

        response.EnsureSuccessStatusCode();
        var session = SessionCarrying(jobId);
        Assert.Single(session);
        Assert.Contains(WorkspaceSetting.Name, Text(session[0]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_commands_begin_and_workspace_setting_ride_with_its_first_statement()
    {
        var client = fixture.Client();
        var jobId = (await client.CreateJobAsync()).Id();
        RoundTripFixture.Recorder.Clear();

        // The status change reads the job (a row lock) before it writes anything.
        (await client.SetJobStatusAsync(jobId, "RUNNING")).EnsureStatus(200);

        var session = SessionCarrying(jobId);
        var first = Text(session[0]);
        Assert.True(IsBegin(first), first);
        Assert.Contains(WorkspaceSetting.Name, first, StringComparison.Ordinal);
        Assert.Contains("for update", first, StringComparison.Ordinal);
        Assert.True(IsEnd(Text(session[^1])), Text(session[^1]));
    }

    public static TheoryData<string> AuditedCommands() => ["create job", "change job status", "create step", "record tokens"];

    /// <summary>Capture on and off, the command's session makes as many round trips: the activity row rides with the COMMIT.</summary>
    [Theory]
    [MemberData(nameof(AuditedCommands))]
    public async Task An_audited_commands_activity_row_costs_no_round_trip_it_travels_with_the_commit(string command)
    {
        await using var uncaptured = fixture.App.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.RemoveAll<IActivityCapture>()));
        var withoutClient = uncaptured.CreateClient();
        withoutClient.DefaultRequestHeaders.Authorization = new("Bearer", fixture.BootstrapKey);

        var with = await SessionOfAsync(fixture.Client(), command);
        var without = await SessionOfAsync(withoutClient, command);

        output.WriteLine($"{command}: {with.Count} round trips with capture, {without.Count} without");
        var last = Text(with[^1]);
        Assert.Contains("activity.activity_logs", last, StringComparison.Ordinal);
        Assert.True(IsEnd(last), last);
        Assert.Single(with, f => Text(f).Contains("activity.activity_logs", StringComparison.Ordinal));
        Assert.DoesNotContain(without, f => Text(f).Contains("activity.activity_logs", StringComparison.Ordinal));
        Assert.Equal(without.Count, with.Count);
    }

    /// <summary>Sets up what the command needs, then returns the flights of the command's own session.</summary>
    private static async Task<List<byte[]>> SessionOfAsync(HttpClient client, string command)
    {
        var jobId = (await client.CreateJobAsync()).Id();
        var stepId = (await client.CreateStepAsync(jobId, "review", "VALIDATION", "AI_ACTION")).Id();
        RoundTripFixture.Recorder.Clear();
        var (response, target) = command switch
        {
            "create job" => (await client.PostJsonAsync("/api/runner-jobs", new { type = "ci" }), (Guid?)null),
            "change job status" => (await client.SetJobStatusAsync(jobId, "RUNNING"), jobId),
            "create step" => (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps", new { name = "lint", phase = "EXECUTION", type = "COMMAND" }), null),
            "record tokens" => (await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{stepId}/tokens", new { input = 10, output = 2 }), stepId),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, null),
        };
        Assert.True(response.Status is 200 or 201, response.Body);
        var session = SessionCarrying(target ?? response.Json.Id());
        Assert.True(IsBegin(Text(session[0])), Text(session[0]));
        return session;
    }

    /// <summary>
    /// The flights of the session that sent <paramref name="id"/> as a parameter: from its BEGIN (or,
    /// with no transaction block, that flight alone) to its COMMIT or ROLLBACK.
    /// </summary>
    private static List<byte[]> SessionCarrying(Guid id)
    {
        var needle = Convert.FromHexString(id.ToString("N"));
        foreach (var flights in RoundTripFixture.Recorder.Connections())
        {
            var at = flights.ToList().FindIndex(f => f.AsSpan().IndexOf(needle) >= 0 || Text(f).Contains(id.ToString(), StringComparison.Ordinal));
            if (at < 0)
            {
                continue;
            }

            var start = at;
            for (var i = at; i >= 0; i--)
            {
                var text = Text(flights[i]);
                if (IsBegin(text))
                {
                    start = i;
                    break;
                }

                if (i < at && IsEnd(text))
                {
                    break;
                }
            }

            var end = at;
            if (IsBegin(Text(flights[start])))
            {
                end = flights.ToList().FindIndex(at, f => IsEnd(Text(f)));
                Assert.True(end >= 0, "the session's transaction never ended");
            }

            return [.. flights.Skip(start).Take(end - start + 1)];
        }

        throw new Xunit.Sdk.XunitException($"No flight carried {id}.");
    }

    private static bool IsBegin(string text) =>
        text.Contains("BEGIN TRANSACTION", StringComparison.Ordinal) || text.Contains("BEGIN ISOLATION", StringComparison.Ordinal) || text.Contains("BEGIN\0", StringComparison.Ordinal);

    /// <summary>A COMMIT or ROLLBACK statement; its text ends where the message's string does (BEGIN's "READ COMMITTED" is not one).</summary>
    private static bool IsEnd(string text) =>
        text.Contains("COMMIT\0", StringComparison.Ordinal) || text.Contains("ROLLBACK\0", StringComparison.Ordinal);

    private static string Text(byte[] flight) => Encoding.UTF8.GetString(flight);
}
