using System.Globalization;
using System.Text;
using System.Text.Json;
using JobTrail.Client;

namespace JobTrail.Cli;

/// <summary>Everything the CLI prints: tables, event lines (coloured only on a terminal without NO_COLOR), JSON.</summary>
internal static class Terminal
{
    private static readonly JsonSerializerOptions Json = new(JobTrailJsonOptions())
    {
        WriteIndented = true,
    };

    private static readonly JsonSerializerOptions JsonLine = new(JobTrailJsonOptions());

    private static readonly object Gate = new();

    /// <summary>https://no-color.org: any non-empty NO_COLOR switches colour off; so does redirected output.</summary>
    public static bool UseColour =>
        !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    public static void WriteJson<T>(T value)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));
    }

    public static void WriteJsonLine<T>(T value)
    {
        Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonLine));
    }

    /// <summary>One line at a time from several readers (a child's stdout and stderr).</summary>
    public static void Mirror(TextWriter writer, string line)
    {
        lock (Gate)
        {
            writer.WriteLine(line);
        }
    }

    public static void Error(string message)
    {
        Console.Error.WriteLine("jobtrail: " + OneLine(message));
    }

    public static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    public static void WriteTable(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string?>> rows)
    {
        var all = rows.Select(r => r.Select(c => OneLine(c ?? "-")).ToArray()).ToList();
        var widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => r[i].Length))).ToArray();
        var builder = new StringBuilder();
        void Row(IReadOnlyList<string> cells)
        {
            for (var i = 0; i < cells.Count; i++)
            {
                builder.Append(i == cells.Count - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
            }

            builder.Append('\n');
        }

        Row(headers);
        foreach (var row in all)
        {
            Row(row);
        }

        Console.Out.Write(builder.ToString());
    }

    public static string Time(DateTime? value) =>
        value is { } v ? v.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) : "-";

    public static string Duration(long? milliseconds) =>
        milliseconds is { } ms ? TimeSpan.FromMilliseconds(ms).ToString(ms >= 3_600_000 ? @"h\:mm\:ss" : @"m\:ss\.fff", CultureInfo.InvariantCulture) : "-";

    public static string Status<T>(T value)
        where T : struct, Enum =>
        JsonSerializer.Serialize(value, JsonLine).Trim('"');

    /// <summary>What a reader wants of a payload: the line of an output event, else compact JSON.</summary>
    public static string Summary(JobEvent e)
    {
        if (e.Payload is not { ValueKind: JsonValueKind.Object } payload)
        {
            return string.Empty;
        }

        if (e.Type == JobEventType.StepOutput && payload.TryGetProperty("line", out var line) && line.ValueKind == JsonValueKind.String)
        {
            return line.GetString() ?? string.Empty;
        }

        return payload.GetRawText();
    }

    public static string EventLine(JobEvent e, bool colour)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{e.Seq,6}  {Time(e.OccurredAt)}  {e.Type,-20}  {Summary(e)}").TrimEnd();
        return colour ? Paint(text, ColourOf(e)) : text;
    }

    private static string? ColourOf(JobEvent e) => e.Type switch
    {
        JobEventType.JobCompleted or "step.completed" or JobEventType.GatePassed => "32",         // green
        JobEventType.JobFailed or "step.failed" or JobEventType.GateFailed or JobEventType.ClientEventsLost => "31", // red
        JobEventType.JobCancelled => "33",                                                           // yellow
        "job.created" or "job.queued" or "job.started" or "step.started" or JobEventType.GateStarted => "36", // cyan
        JobEventType.AiToolCalled or JobEventType.AiArtifactCreated or "ai.tokens_used" => "35",      // magenta
        JobEventType.StepOutput when IsStderr(e) => "91",                                            // bright red
        JobEventType.StepProgress => "34",                                                            // blue
        _ => null,
    };

    private static bool IsStderr(JobEvent e) =>
        e.Payload is { ValueKind: JsonValueKind.Object } p && p.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.String && s.GetString() == "stderr";

    private static string Paint(string text, string? code) => code is null ? text : $"\u001b[{code}m{text}\u001b[0m";

    private static JsonSerializerOptions JobTrailJsonOptions() => JobTrailJson.Options;
}
