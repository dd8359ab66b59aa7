using JobTrail.IntegrationTests.Infrastructure;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// The real host process, started with one bad setting: it must stop before the first connection with exit
/// code 78 (EX_CONFIG) and one line on standard error naming the variable, not crash with a stack trace.
/// </summary>
public sealed class StartupFailureTests
{
    private static readonly string HostDll = Path.Combine(
        Repository.Root, "src", "JobTrail.Host", "bin",
#if DEBUG
        "Debug",
#else
        "Release",
#endif
        "net10.0", "JobTrail.Host.dll");

    [Theory]
    [InlineData("JobTrail__TrustedProxies__0", "not-an-address", "JobTrail__TrustedProxies__0")]
    [InlineData("JobTrail__TrustedProxies__0", "10.0.0.0/40", "JobTrail__TrustedProxies__0")]
    [InlineData("JobTrail__RateLimit__PerSecond", "0", "JobTrail__RateLimit__PerSecond")]
    [InlineData("JobTrail__Https__Hsts", "sometimes", "JobTrail:Https:Hsts")]
    [InlineData("JobTrail__Limits__MaxBodyBytes", "12", "JobTrail__Limits__MaxBodyBytes")]
    [InlineData("JobTrail__Integrity__Key", "not base64!", "JobTrail:Integrity:Key")]
    public async Task A_bad_setting_stops_the_process_with_one_line_naming_it(string variable, string value, string named)
    {
        var result = await ExternalProcess.RunAsync("dotnet", [HostDll, "--urls", "http://127.0.0.1:0"], TimeSpan.FromMinutes(2),
            new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                // Nothing listens here: a host that got as far as connecting would fail differently.
                ["JobTrail__Postgres"] = "Host=127.0.0.1;Port=1;Username=nobody;Database=none",
                ["JobTrail__Valkey"] = "127.0.0.1:1",
                [variable] = value,
            });

        Assert.True(result.ExitCode == 78, $"exit code {result.ExitCode}:\n{result.Tail}");
        var lines = result.Errors.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var reported = Assert.Single(lines, l => l.StartsWith("jobtrail: cannot start: ", StringComparison.Ordinal));
        Assert.Contains(named, reported, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Output + result.Errors, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Errors, StringComparison.Ordinal);
    }
}
