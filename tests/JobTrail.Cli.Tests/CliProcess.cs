using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace JobTrail.Cli.Tests;

/// <summary>What one run of <c>jobtrail</c> printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The job <c>jobtrail run</c> announced on stderr.</summary>
    public Guid JobId => CliProcess.JobIdIn(Stderr) ?? throw new InvalidOperationException($"no job id in: {Stderr}");

    public override string ToString() => $"exit {ExitCode}\nstdout: {Stdout}\nstderr: {Stderr}";
}

/// <summary>
/// Runs the built <c>jobtrail.dll</c> as a separate process, as a user would, with a clean
/// environment: only the JOBTRAIL_* values a test gives, a HOME without a config file, NO_COLOR unset.
/// </summary>
internal sealed partial class CliProcess : IDisposable
{
    private static readonly Lazy<string> EmptyHome = new(() => Directory.CreateTempSubdirectory("jobtrail-home-").FullName);

    private readonly Process process;
    private readonly StringBuilder stdout = new();
    private readonly StringBuilder stderr = new();
    private readonly TaskCompletionSource<Guid> jobId = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task stdoutDone;
    private readonly Task stderrDone;

    private CliProcess(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?> environment)
    {
        // Through env, with SIGINT back at its default: a test run started in the background (as CI may start it)
        // hands every child SIGINT ignored, and a program started so keeps it ignored, as POSIX shells intend.
        var start = new ProcessStartInfo("env", ["--default-signal=INT", "dotnet"])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "jobtrail.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var name in new[] { "JOBTRAIL_URL", "JOBTRAIL_API_KEY", "JOBTRAIL_CONFIG", "NO_COLOR" })
        {
            start.Environment.Remove(name);
        }

        start.Environment["HOME"] = EmptyHome.Value;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        process = Process.Start(start)!;
        process.StandardInput.Close();
        stdoutDone = PumpAsync(process.StandardOutput, stdout);
        stderrDone = PumpAsync(process.StandardError, stderr);
    }

    public int Id => process.Id;

    /// <summary>Resolves once <c>jobtrail run</c> has created its job.</summary>
    public Task<Guid> JobId => jobId.Task;

    public static CliProcess Start(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null) =>
        new(args, environment ?? new Dictionary<string, string?>());

    public static async Task<CliResult> RunAsync(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        using var cli = Start(args, environment);
        return await cli.WaitAsync(TimeSpan.FromMinutes(3));
    }

    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"jobtrail did not exit within {timeout}; stderr so far: {Snapshot(stderr)}");
        }

        await Task.WhenAll(stdoutDone, stderrDone);
        return new CliResult(process.ExitCode, Snapshot(stdout), Snapshot(stderr));
    }

    /// <summary>Sends SIGINT, as Ctrl+C in a terminal does.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        Assert.Equal(0, kill.ExitCode);
    }

    public void Dispose()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }

        process.Dispose();
    }

    internal static Guid? JobIdIn(string text) =>
        JobLine().Match(text) is { Success: true } m ? Guid.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;

    private static string Snapshot(StringBuilder builder)
    {
        lock (builder)
        {
            return builder.ToString();
        }
    }

    private async Task PumpAsync(StreamReader reader, StringBuilder into)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (into)
            {
                into.Append(line).Append('\n');
            }

            if (into == stderr && JobIdIn(line) is { } id)
            {
                jobId.TrySetResult(id);
            }
        }

        jobId.TrySetException(new InvalidOperationException($"jobtrail ended without announcing a job: {Snapshot(stderr)}"));
    }

    [GeneratedRegex("^jobtrail: job ([0-9a-f-]{36})", RegexOptions.Multiline)]
    private static partial Regex JobLine();

}
