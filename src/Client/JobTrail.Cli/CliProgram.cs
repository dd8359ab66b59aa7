using System.CommandLine;
using System.Net.Http;
using JobTrail.Client;

namespace JobTrail.Cli;

/// <summary>
/// The <c>jobtrail</c> command line. Exit codes: the wrapped command's for <c>run</c>; 0 success,
/// 1 an error (printed as one line on stderr), 2 a usage error, 130 interrupted (Ctrl+C).
/// </summary>
internal static class CliProgram
{
    public const int Ok = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Interrupted = 130;

    public static async Task<int> Main(string[] args)
    {
        var root = BuildRoot();
        // `@file` stays an ordinary argument: `jobtrail run -- curl @body.json` must pass it through.
        var parse = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            var command = parse.CommandResult.Command;
            var path = command is RootCommand ? "jobtrail" : $"jobtrail {command.Name}";
            Terminal.Error($"{parse.Errors[0].Message} (see '{path} --help')");
            return Usage;
        }

        // Ctrl+C is handled by the commands themselves (`run` cancels its job before it exits).
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = null, EnableDefaultExceptionHandler = false };
        try
        {
            return await parse.InvokeAsync(invocation);
        }
        catch (Exception ex) when (Describe(ex) is { } message)
        {
            Terminal.Error(message);
            return Failure;
        }
    }

    internal static RootCommand BuildRoot()
    {
        var url = new Option<string?>("--url") { Description = $"The JobTrail API, e.g. http://127.0.0.1:8080 (else ${CliSettings.UrlVariable}, else \"url\" in the config file).", Recursive = true };
        var apiKey = new Option<string?>("--api-key") { Description = $"The API key (else ${CliSettings.ApiKeyVariable}, else \"apiKey\" in the config file). Prefer the variable: flags show in process lists.", Recursive = true };
        var connection = new ConnectionOptions(url, apiKey);

        var root = new RootCommand("jobtrail: run a command as a tracked JobTrail job, follow jobs live, read jobs, events and activity, verify their hash chains.")
        {
            url,
            apiKey,
        };
        root.Subcommands.Add(RunCommand.Build(connection));
        root.Subcommands.Add(TailCommand.Build(connection));
        foreach (var command in ReadCommands.Build(connection))
        {
            root.Subcommands.Add(command);
        }

        return root;
    }

    /// <summary>One readable line for every failure a user can meet; null lets a real bug surface.</summary>
    private static string? Describe(Exception ex) => ex switch
    {
        JobTrailApiException api => ProblemLine(api),
        CliException cli => cli.Message,
        HttpRequestException http => $"cannot reach the JobTrail API: {http.Message}",
        TaskCanceledException or TimeoutException => "the JobTrail API did not answer in time",
        OperationCanceledException => "interrupted",
        _ => null,
    };

    internal static string ProblemLine(JobTrailApiException ex)
    {
        var text = $"{ex.StatusCode} {ex.Title ?? ex.Status.ToString()}";
        if (!string.IsNullOrWhiteSpace(ex.Detail))
        {
            text += ": " + ex.Detail;
        }

        foreach (var (field, messages) in ex.Errors)
        {
            text += $" [{field}: {string.Join("; ", messages)}]";
        }

        if (ex.Code is not null)
        {
            text += $" ({ex.Code})";
        }

        return text;
    }
}

/// <summary>The connection flags every command shares; <see cref="Client"/> resolves them with the environment and the config file.</summary>
internal sealed record ConnectionOptions(Option<string?> Url, Option<string?> ApiKey)
{
    public JobTrailClient Client(ParseResult parse)
    {
        var settings = CliSettings.Resolve(parse.GetValue(Url), parse.GetValue(ApiKey));
        return new JobTrailClient(new JobTrailClientOptions { BaseAddress = settings.Url, ApiKey = settings.ApiKey });
    }
}
