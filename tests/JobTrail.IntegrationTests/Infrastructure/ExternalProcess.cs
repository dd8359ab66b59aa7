using System.Diagnostics;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>Runs a program of the source tree (a tool, a linter) to its end, within a deadline.</summary>
public static class ExternalProcess
{
    public sealed record Result(int ExitCode, string Output, string Errors)
    {
        /// <summary>The last lines of both streams, for a failure message.</summary>
        public string Tail => string.Join('\n', (Output + "\n" + Errors).Split('\n').TakeLast(60));
    }

    public static async Task<Result> RunAsync(
        string fileName, IEnumerable<string> arguments, TimeSpan deadline, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Repository.Root,
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(deadline);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            // Killing the tree also ends what the program started and could not stop.
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Assert.Fail($"{Path.GetFileName(fileName)} did not finish within {deadline}:\n{await errors}");
        }

        return new Result(process.ExitCode, await output, await errors);
    }
}
