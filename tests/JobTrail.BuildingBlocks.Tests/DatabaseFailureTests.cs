using System.Net.Sockets;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Persistence;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.BuildingBlocks.Tests;

public sealed class DatabaseFailureTests
{
    private static readonly Dictionary<string, Func<Exception>> Unreachable = new()
    {
        ["connection refused"] = () => new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused)),
        ["stream ended"] = () => new NpgsqlException("Exception while reading from stream", new EndOfStreamException("Attempted to read past the end of the stream.")),
        ["connection reset"] = () => new NpgsqlException("Exception while writing to stream", new IOException("Unable to write data", new SocketException((int)SocketError.ConnectionReset))),
        ["read timeout"] = () => new NpgsqlException("Exception while reading from stream", new TimeoutException("Timeout during reading attempt")),
        ["pool exhausted"] = () => new NpgsqlException(
            "The connection pool has been exhausted, either raise 'Max Pool Size' (currently 100) or 'Timeout' (currently 15 seconds) in your connection string.",
            new TimeoutException("The operation has timed out.")),
        ["npgsql around npgsql"] = () => new NpgsqlException("outer", new NpgsqlException("Failed to connect", new SocketException((int)SocketError.HostUnreachable))),
        ["08006 connection failure"] = () => Postgres("08006"),
        ["08001 cannot establish"] = () => Postgres("08001"),
        ["08P01 protocol violation"] = () => Postgres("08P01"),
        ["57P01 admin shutdown"] = () => Postgres("57P01"),
        ["57P02 crash shutdown"] = () => Postgres("57P02"),
        ["57P03 cannot connect now"] = () => Postgres("57P03"),
        ["53300 too many connections"] = () => Postgres("53300"),
        ["DbUpdateException around refused"] = () => new DbUpdateException("An error occurred while saving the entity changes.", Refused()),
        ["DbUpdateException around 57P01"] = () => new DbUpdateException("An error occurred while saving the entity changes.", Postgres("57P01")),
        ["RetryLimitExceededException"] = () => new RetryLimitExceededException("The maximum number of retries (6) was exceeded.", Refused()),
        ["InvalidOperationException around 57P03"] = () => new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", Postgres("57P03")),
        ["InvalidOperationException around DbUpdateException"] = () => new InvalidOperationException("outer", new DbUpdateException("inner", Refused())),
    };

    private static readonly Dictionary<string, Func<Exception>> Other = new()
    {
        ["23505 unique violation"] = () => Postgres("23505"),
        ["40001 serialization failure"] = () => Postgres("40001"),
        ["42P01 undefined table"] = () => Postgres("42P01"),
        ["57014 statement timeout"] = () => Postgres("57014"),
        ["53100 disk full"] = () => Postgres("53100"),
        ["DbUpdateException around 23502"] = () => new DbUpdateException("An error occurred while saving the entity changes.", Postgres("23502")),
        ["npgsql without inner"] = () => new NpgsqlException("Received unexpected backend message"),
        ["npgsql around a format error"] = () => new NpgsqlException("bad value", new FormatException("x")),
        ["bare socket error"] = () => new SocketException((int)SocketError.ConnectionRefused),
        ["bare timeout"] = () => new TimeoutException("Valkey did not answer"),
        ["bare I/O error"] = () => new IOException("disk"),
        ["socket error outside Npgsql"] = () => new InvalidOperationException("No connection is available", new SocketException((int)SocketError.ConnectionRefused)),
        ["invalid operation"] = () => new InvalidOperationException("Connection is not open"),
        ["cancelled"] = () => new OperationCanceledException(),
    };

    public static TheoryData<string> UnreachableShapes => [.. Unreachable.Keys];

    public static TheoryData<string> OtherShapes => [.. Other.Keys];

    [Theory]
    [MemberData(nameof(UnreachableShapes))]
    public void A_database_that_cannot_be_reached_is_recognised(string shape) =>
        Assert.True(DatabaseFailure.IsUnreachable(Unreachable[shape]()));

    [Theory]
    [MemberData(nameof(OtherShapes))]
    public void Other_errors_are_not_taken_for_an_unreachable_database(string shape) =>
        Assert.False(DatabaseFailure.IsUnreachable(Other[shape]()));

    [Theory]
    [MemberData(nameof(UnreachableShapes))]
    public void A_database_that_cannot_be_reached_is_a_503_database_unavailable(string shape)
    {
        var problem = ProblemExceptionHandler.Describe(Unreachable[shape]());

        Assert.Equal(503, problem.Status);
        Assert.Equal("database_unavailable", problem.Extensions["code"]);
        Assert.DoesNotContain("5432", problem.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void An_outage_is_logged_once_when_first_seen_and_once_when_it_ends()
    {
        var logger = new ListLogger();
        var availability = new DatabaseAvailability(TimeSpan.FromSeconds(5), TimeProvider.System, logger);

        Assert.False(availability.ReportFailure(Postgres("23505"), "a request"));
        availability.ReportReachable("a request");
        Assert.Empty(logger.Entries);
        Assert.True(availability.IsReachable);

        for (var i = 0; i < 20; i++)
        {
            Assert.True(availability.ReportFailure(Refused(), "a request"));
        }

        Assert.False(availability.IsReachable);
        Assert.NotNull(availability.UnreachableSince);
        var down = Assert.Single(logger.Entries);
        Assert.Equal(LogLevel.Warning, down.Level);
        Assert.Null(down.Exception);
        Assert.Contains("Connection refused", down.Message, StringComparison.Ordinal);

        availability.ReportReachable("a request");
        availability.ReportReachable("the readiness check");

        Assert.True(availability.IsReachable);
        Assert.Null(availability.UnreachableSince);
        Assert.Equal(2, logger.Entries.Count);
        Assert.Equal(LogLevel.Information, logger.Entries[1].Level);
        Assert.Contains("20 database call(s) failed", logger.Entries[1].Message, StringComparison.Ordinal);

        // A second outage is a second line.
        availability.ReportFailure(Postgres("57P01"), "the relay");
        Assert.Equal(3, logger.Entries.Count);
    }

    private static NpgsqlException Refused() =>
        new("Failed to connect to 127.0.0.1:5432", new SocketException((int)SocketError.ConnectionRefused));

    private static PostgresException Postgres(string sqlState) => new("test", "FATAL", "FATAL", sqlState);

    private sealed record Entry(LogLevel Level, string Message, Exception? Exception);

    private sealed class ListLogger : ILogger<DatabaseAvailability>
    {
        public List<Entry> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Add(new Entry(logLevel, formatter(state, exception), exception));
    }
}
