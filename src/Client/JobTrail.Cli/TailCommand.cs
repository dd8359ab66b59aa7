using System.CommandLine;
using JobTrail.Client;

namespace JobTrail.Cli;

/// <summary>
/// <c>jobtrail tail &lt;jobId&gt;</c>: prints a job's events as they happen (the client's stream resumes
/// after a dropped connection with Last-Event-ID) and exits at the terminal event: 0 when the job
/// completed, 1 when it failed or was cancelled.
/// </summary>
internal static class TailCommand
{
    public static Command Build(ConnectionOptions connection)
    {
        var jobId = ReadCommands.JobIdArgument();
        var afterSeq = new Option<long?>("--after-seq") { Description = "Start after this seq (default: from the job's first event)." };
        var json = new Option<bool>("--json") { Description = "One JSON object per event and line (NDJSON)." };
        var command = new Command("tail", "Follow a job live until it ends; exit code 0 if it completed, 1 if it failed or was cancelled.") { jobId, afterSeq, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = connection.Client(parse);
            var asJson = parse.GetValue(json);
            var colour = !asJson && Terminal.UseColour;
            string? last = null;
            await foreach (var e in client.StreamEventsAsync(parse.GetValue(jobId), parse.GetValue(afterSeq), ct))
            {
                if (asJson)
                {
                    Terminal.WriteJsonLine(e);
                }
                else
                {
                    Console.Out.WriteLine(Terminal.EventLine(e, colour));
                }

                last = e.Type;
            }

            return last == JobEventType.JobCompleted ? CliProgram.Ok : CliProgram.Failure;
        });
        return command;
    }
}
