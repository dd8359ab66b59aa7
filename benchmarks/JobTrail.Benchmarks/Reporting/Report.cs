using System.Globalization;
using System.Text;

namespace JobTrail.Benchmarks.Reporting;

/// <summary>One line of a scenario's table: JobTrail beside its baseline from the same run.</summary>
internal sealed record ResultRow(string Metric, string JobTrail, string Baseline, string Ratio, string Budget, string Verdict);

internal sealed class ScenarioReport(string title, string command)
{
    public string Title { get; } = title;

    public string Command { get; } = command;

    public List<string> Setup { get; } = [];

    public List<ResultRow> Rows { get; } = [];

    public List<string> Notes { get; } = [];

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"### {Title}").AppendLine();
        text.AppendLine("```sh").AppendLine(Command).AppendLine("```").AppendLine();
        foreach (var line in Setup)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        }

        if (Setup.Count > 0)
        {
            text.AppendLine();
        }

        text.AppendLine("| metric | JobTrail | baseline (same run) | ratio | budget | verdict |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var row in Rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"| {row.Metric} | {row.JobTrail} | {row.Baseline} | {row.Ratio} | {row.Budget} | {row.Verdict} |");
        }

        text.AppendLine();
        foreach (var note in Notes)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        }

        return text.AppendLine().ToString();
    }
}

internal static class Fmt
{
    public static string N(double value, string format = "0") => double.IsNaN(value) ? "—" : value.ToString(format, CultureInfo.InvariantCulture);

    public static string Ms(double value) => double.IsNaN(value) ? "—" : value.ToString("0.00", CultureInfo.InvariantCulture) + " ms";

    public static string Ratio(double value) => double.IsNaN(value) || double.IsInfinity(value) ? "—" : value.ToString("0.00", CultureInfo.InvariantCulture) + "×";

    public static string Verdict(bool met) => met ? "met" : "not met";
}
