using System.CommandLine;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using JobTrail.Client;

namespace JobTrail.Cli;

/// <summary>
/// <c>jobtrail run [--name N] [--type T] -- &lt;command&gt; [args]</c>: a job (RUNNING) with one step
/// running the command; its stdout/stderr lines are mirrored to the terminal and sent as
/// <c>step.output</c> events <c>{ line, stream }</c> through a <see cref="JobEventBuffer"/>; the step and
/// job end COMPLETED or FAILED by exit code, which is returned. SIGINT/SIGTERM stop the child and
/// cancel the job (exit 130 / 143).
/// </summary>
internal static class RunCommand
{
    /// <summary>Longer lines are cut: an event payload is at most 64 KiB and a batch 8 MiB.</summary>
    internal const int MaxLineLength = 4_000;

    private const int CommandNotFound = 127;
    private const int Terminated = 143;

    public static Command Build(ConnectionOptions connection)
    {
        var name = new Option<string?>("--name") { Description = "The job's name (default: the command's file name)." };
        var type = new Option<string>("--type") { Description = "The job's type.", DefaultValueFactory = _ => "command" };
        var step = new Option<string?>("--step") { Description = "The step's name (default: the command's file name)." };
        var commandLine = new Argument<string[]>("command") { Description = "The command and its arguments, after `--`.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("run", "Run a command as a tracked job: its output goes to the job's log, its exit code decides COMPLETED or FAILED and is returned.")
        {
            name,
            type,
            step,
            commandLine,
        };
        command.SetAction((parse, _) =>
        {
            var argv = parse.GetValue(commandLine)!;
            var label = Truncate(Path.GetFileName(argv[0]), 200);
            return RunAsync(connection, parse, argv, parse.GetValue(type)!, parse.GetValue(name) ?? label, parse.GetValue(step) ?? label);
        });
        return command;
    }

    private static async Task<int> RunAsync(ConnectionOptions connection, ParseResult parse, string[] argv, string type, string name, string stepName)
    {
        using var client = connection.Client(parse);
        using var interrupt = new CancellationTokenSource();
        var signal = 0;
        void OnSignal(PosixSignalContext context)
        {
            // Keep the process alive: the job is cancelled and the log flushed before we exit.
            context.Cancel = true;
            Interlocked.CompareExchange(ref signal, context.Signal == PosixSignal.SIGTERM ? Terminated : CliProgram.Interrupted, 0);
            interrupt.Cancel();
        }

        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        var job = await client.CreateJobAsync(type, name);
        await client.ChangeJobStatusAsync(job.Id, JobStatus.Running);
        var jobStep = await client.CreateStepAsync(job.Id, stepName);
        await client.ChangeStepStatusAsync(job.Id, jobStep.Id, StepStatus.Running);
        Console.Error.WriteLine($"jobtrail: job {job.Id}");

        int exitCode;
        string? error;
        var buffer = client.CreateEventBuffer(new JobEventBufferOptions { MaxBatchSize = 250 });
        await using (buffer)
        {
            (exitCode, error) = await RunChildAsync(argv, buffer, job.Id, jobStep.Id, interrupt.Token);
            await buffer.FlushAsync();
        }

        if (buffer.LostCount > 0)
        {
            Terminal.Error(string.Create(CultureInfo.InvariantCulture, $"{buffer.LostCount} output lines could not be stored (recorded in the job's log)"));
        }

        var cancelled = Volatile.Read(ref signal);
        if (cancelled != 0)
        {
            await client.ChangeStepStatusAsync(job.Id, jobStep.Id, StepStatus.Failed, "Cancelled");
            await client.ChangeJobStatusAsync(job.Id, JobStatus.Cancelled);
            Terminal.Error($"job {job.Id} CANCELLED");
            return cancelled;
        }

        if (error is null)
        {
            await client.ChangeStepStatusAsync(job.Id, jobStep.Id, StepStatus.Completed);
            await client.ChangeJobStatusAsync(job.Id, JobStatus.Completed);
        }
        else
        {
            await client.ChangeStepStatusAsync(job.Id, jobStep.Id, StepStatus.Failed, error);
            await client.ChangeJobStatusAsync(job.Id, JobStatus.Failed, error);
            Terminal.Error($"job {job.Id} FAILED: {error}");
        }

        return exitCode;
    }

    private static async Task<(int ExitCode, string? Error)> RunChildAsync(string[] argv, JobEventBuffer buffer, Guid jobId, Guid stepId, CancellationToken interrupt)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var child = new Process { StartInfo = start };
        try
        {
            child.Start();
        }
        catch (Win32Exception ex)
        {
            var message = $"cannot start '{argv[0]}': {ex.Message}";
            await buffer.EnqueueAsync(jobId, NewJobEvent.Create(JobEventType.StepOutput, new { line = message, stream = "stderr" }, stepId, DateTimeOffset.UtcNow));
            Terminal.Error(message);
            return (CommandNotFound, message);
        }

        var stdout = PumpAsync(child.StandardOutput, Console.Out, "stdout", buffer, jobId, stepId);
        var stderr = PumpAsync(child.StandardError, Console.Error, "stderr", buffer, jobId, stepId);
        using (interrupt.Register(() => Stop(child)))
        {
            await child.WaitForExitAsync(CancellationToken.None);
            await Task.WhenAll(stdout, stderr);
        }

        var code = child.ExitCode;
        return (code, code == 0 ? null : string.Create(CultureInfo.InvariantCulture, $"'{Path.GetFileName(argv[0])}' exited with code {code}"));
    }

    /// <summary>Each line in order: to our own stream, then to the buffer (which waits when full, so nothing is dropped).</summary>
    private static async Task PumpAsync(StreamReader reader, TextWriter mirror, string stream, JobEventBuffer buffer, Guid jobId, Guid stepId)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            Terminal.Mirror(mirror, line);
            var clean = Truncate(line.Replace('\0', '\uFFFD'), MaxLineLength);
            await buffer.EnqueueAsync(jobId, NewJobEvent.Create(JobEventType.StepOutput, new { line = clean, stream }, stepId, DateTimeOffset.UtcNow));
        }
    }

    private static void Stop(Process child)
    {
        try
        {
            if (!child.HasExited)
            {
                child.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    private static string Truncate(string text, int length) =>
        text.Length <= length ? text : text[..(char.IsHighSurrogate(text[length - 1]) ? length - 1 : length)];
}
