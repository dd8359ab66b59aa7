using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using JobTrail.BuildingBlocks.Behaviors;
using Microsoft.Extensions.Logging;

namespace JobTrail.IntegrationTests.Streaming;

/// <summary>Keeps every log entry of the host it is registered in (at the levels the host lets through).</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
        // Nothing to release.
    }

    private sealed class Logger(CapturedLogs owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, category, formatter(state, exception)));
    }
}

/// <summary>
/// Listens to one instrument of the JobTrail meter. Instruments are process-wide, so measurements of
/// hosts of other test classes may arrive too: assert on values only this test can have caused.
/// </summary>
public sealed class MetricProbe : IDisposable
{
    private readonly MeterListener listener = new();

    public MetricProbe(string instrument)
    {
        listener.InstrumentPublished = (published, l) =>
        {
            if (published.Meter.Name == PipelineMetrics.MeterName && published.Name == instrument)
            {
                l.EnableMeasurementEvents(published);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) => Measurements.Enqueue((value, tags.ToArray())));
        listener.Start();
    }

    public ConcurrentQueue<(long Value, KeyValuePair<string, object?>[] Tags)> Measurements { get; } = new();

    /// <summary>Takes a reading of observable instruments (gauges) now.</summary>
    public void Observe() => listener.RecordObservableInstruments();

    public void Dispose() => listener.Dispose();
}
