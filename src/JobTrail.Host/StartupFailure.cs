namespace JobTrail.Host;

/// <summary>
/// A setting that stops start-up: reported on standard error, one line per problem, and the process exits
/// with <see cref="ExitCode"/>. A misconfiguration is the operator's to fix, not a crash to debug.
/// </summary>
internal static class StartupFailure
{
    /// <summary>EX_CONFIG of sysexits.h: "something was found in an unconfigured or misconfigured state".</summary>
    public const int ExitCode = 78;

    /// <summary>
    /// True when this host is the process (not hosted in a test runner's process, whose tests expect the
    /// exception itself and must not see the process exit).
    /// </summary>
    public static bool InOwnProcess { get; } = System.Reflection.Assembly.GetEntryAssembly() == typeof(StartupFailure).Assembly;

    public static int Report(string problem) => Report([problem]);

    public static int Report(IEnumerable<string> problems)
    {
        foreach (var problem in problems)
        {
            Console.Error.WriteLine($"jobtrail: cannot start: {problem.ReplaceLineEndings(" ")}");
        }

        return ExitCode;
    }
}
