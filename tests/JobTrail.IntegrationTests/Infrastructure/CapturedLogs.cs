using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace JobTrail.IntegrationTests.Infrastructure;

public sealed record CapturedLog(long Index, string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

/// <summary>
/// A logger provider that keeps every entry it is given, for tests that assert what the host logs
/// (and how often). The host's filters decide what reaches it.
/// </summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLog> entries = new();
    private long next;

    /// <summary>The index the next entry will get: a mark to read "what was logged since".</summary>
    public long Mark => Interlocked.Read(ref next);

    public IReadOnlyList<CapturedLog> Since(long mark) => entries.Where(e => e.Index >= mark).ToList();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private void Add(string category, LogLevel level, EventId eventId, string message, Exception? exception) =>
        entries.Enqueue(new CapturedLog(Interlocked.Increment(ref next) - 1, category, level, eventId, message, exception));

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs.Add(category, logLevel, eventId, formatter(state, exception), exception);
    }
}
