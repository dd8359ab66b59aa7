using System.CommandLine;
using System.Globalization;
using System.Text;
using JobTrail.Benchmarks.Infra;
using JobTrail.Benchmarks.Reporting;
using JobTrail.Benchmarks.Scenarios;

namespace JobTrail.Benchmarks;

/// <summary>
/// The JobTrail benchmark tool. Each scenario creates a database, starts the real API on a free
/// loopback port, measures it, measures its pgbench (or other) baseline in the same run, prints a
/// Markdown report and cleans up. See docs/benchmarks.md.
/// </summary>
internal static class BenchProgram
{
    public static async Task<int> Main(string[] args)
    {
        var seconds = new Option<int>("--seconds") { Description = "Measured seconds per run (each side of each comparison).", DefaultValueFactory = _ => 20, Recursive = true };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured warm-up seconds before each API run (pgbench: 1 s).", DefaultValueFactory = _ => 3, Recursive = true };
        var clients = new Option<int?>("--clients") { Description = "Concurrent clients (emit, batch: 16; list: 1; capture, ab: 4).", Recursive = true };
        var rounds = new Option<int>("--rounds") { Description = "Repeat each API/baseline pair this many times (alternating).", DefaultValueFactory = _ => 1, Recursive = true };
        var serviceExtra = new Option<string?>("--service-extra") { Description = "Keywords appended to the API's connection string, e.g. \"Max Auto Prepare=64\".", Recursive = true };
        var pgbench = new Option<string?>("--pgbench") { Description = "Path of pgbench (default: newest /usr/lib/postgresql/*/bin/pgbench).", Recursive = true };
        var diagnose = new Option<bool>("--diagnose") { Description = "emit: also replay the API's own SQL in pgbench, with and without its NOTIFY.", DefaultValueFactory = _ => true, Recursive = true };
        var hostSettings = new Option<string[]>("--host-setting") { Description = "NAME=VALUE environment for the API under test (repeatable), e.g. JobTrail__Relay__Enabled=false.", Recursive = true, AllowMultipleArgumentsPerToken = false };
        var instances = new Option<int>("--instances") { Description = "emit, sse: start this many API instances on one database; client i talks to instance i mod n.", DefaultValueFactory = _ => 1, Recursive = true };
        var output = new Option<string?>("--out") { Description = "Also write the Markdown report to this file.", Recursive = true };

        var batchSize = new Option<int>("--batch-size") { Description = "Events per batch.", DefaultValueFactory = _ => 100 };
        var rate = new Option<string>("--rate") { Description = "Target emits per second across all jobs; a comma-separated list runs each in turn.", DefaultValueFactory = _ => "1000,100" };
        var subscribers = new Option<int>("--subscribers") { Description = "SSE subscribers.", DefaultValueFactory = _ => 100 };
        var jobs = new Option<int>("--jobs") { Description = "Jobs the SSE subscribers follow (subscriber i follows job i mod jobs).", DefaultValueFactory = _ => 100 };
        var emitters = new Option<int>("--emitters") { Description = "Concurrent emitting clients in the SSE scenario.", DefaultValueFactory = _ => 16 };
        var rows = new Option<long>("--rows") { Description = "Events (and as many activity rows) to seed for `list`.", DefaultValueFactory = _ => 2_000_000 };
        var perJob = new Option<int>("--events-per-job") { Description = "Seeded events (and activity rows) per job for `list`.", DefaultValueFactory = _ => 1000 };
        var connections = new Option<int>("--connections") { Description = "idle-sse: concurrent idle SSE streams to hold.", DefaultValueFactory = _ => 10_000 };
        var idleJobs = new Option<int>("--jobs") { Description = "idle-sse: jobs the streams follow (stream k follows job k mod jobs).", DefaultValueFactory = _ => 200 };
        var openConcurrency = new Option<int>("--open-concurrency") { Description = "idle-sse: streams being opened at once.", DefaultValueFactory = _ => 64 };
        var heartbeat = new Option<int>("--heartbeat-seconds") { Description = "idle-sse: the host's SSE heartbeat period.", DefaultValueFactory = _ => 15 };
        var seedLimit = new Option<int>("--seed-max-seconds") { Description = "Stop seeding after this long and use what is there.", DefaultValueFactory = _ => 180 };

        var root = new RootCommand("JobTrail benchmarks: the real API beside a pgbench baseline, same run, same machine.");
        foreach (var option in new Option[] { seconds, warmup, clients, rounds, serviceExtra, hostSettings, pgbench, diagnose, instances, output })
        {
            root.Options.Add(option);
        }

        Command Scenario(string name, string description, Func<ParseResult, BenchContext, CancellationToken, Task<IReadOnlyList<ScenarioReport>>> run, params Option[] options)
        {
            var command = new Command(name, description);
            foreach (var option in options)
            {
                command.Options.Add(option);
            }

            command.SetAction(async (parse, cancellationToken) =>
            {
                var common = new CommonOptions(
                    parse.GetValue(seconds), parse.GetValue(warmup), parse.GetValue(clients) ?? 0, Math.Max(1, parse.GetValue(rounds)),
                    parse.GetValue(serviceExtra), ParseSettings(parse.GetValue(hostSettings)), parse.GetValue(pgbench), parse.GetValue(diagnose), string.Join(' ', args),
                    Math.Max(1, parse.GetValue(instances)));
                return await RunAsync(name, common, parse.GetValue(output), (context, ct) => run(parse, context, ct), cancellationToken);
            });
            return command;
        }

        static BenchContext WithClients(BenchContext context, int fallback) =>
            context.Options.Clients > 0 ? context : new BenchContext(context.Environment, context.Options with { Clients = fallback }, context.WorkDirectory);

        root.Subcommands.Add(Scenario("emit", "Single-event emits (own job per client, and one shared job) vs pgbench single-row INSERTs.",
            async (_, context, ct) => [await EmitScenario.RunAsync(WithClients(context, 16), ct)]));
        root.Subcommands.Add(Scenario("batch", "Batch emits vs pgbench multi-VALUES INSERTs, in rows/s.",
            async (parse, context, ct) => [await BatchScenario.RunAsync(WithClients(context, 16), parse.GetValue(batchSize), ct)], batchSize));
        root.Subcommands.Add(Scenario("sse", "Emit at a fixed rate while subscribers follow jobs over SSE; emit→delivery latency.",
            async (parse, context, ct) => [await SseScenario.RunAsync(context, new SseSettings(Rates(parse.GetValue(rate)), parse.GetValue(subscribers), parse.GetValue(jobs), parse.GetValue(emitters)), ct)],
            rate, subscribers, jobs, emitters));
        root.Subcommands.Add(Scenario("list", "Page-of-100 reads (events, audit trail, activity) over a large seeded table vs the same SQL in pgbench.",
            async (parse, context, ct) => [await ListScenario.RunAsync(WithClients(context, 1), new ListSettings(parse.GetValue(rows), parse.GetValue(perJob), parse.GetValue(seedLimit)), ct)],
            rows, perJob, seedLimit));
        root.Subcommands.Add(Scenario("idle-sse", "Many concurrent idle SSE streams (heartbeats only) on one instance: RSS, CPU, threads, streams still live.",
            async (parse, context, ct) => [await IdleSseScenario.RunAsync(context, new IdleSseSettings(parse.GetValue(connections), parse.GetValue(idleJobs),
                parse.GetValue(openConcurrency), parse.GetValue(heartbeat)), ct)],
            connections, idleJobs, openConcurrency, heartbeat));
        root.Subcommands.Add(Scenario("capture", "Command latency with activity capture on vs off (two hosts, requests interleaved), and API RSS.",
            async (_, context, ct) => [await CaptureScenario.RunAsync(WithClients(context, 4), ct)]));
        var aSettings = new Option<string[]>("--a-setting") { Description = "NAME=VALUE environment for host A (repeatable)." };
        var bSettings = new Option<string[]>("--b-setting") { Description = "NAME=VALUE environment for host B (repeatable)." };
        var aExtra = new Option<string?>("--a-service-extra") { Description = "Connection-string keywords for host A." };
        var bExtra = new Option<string?>("--b-service-extra") { Description = "Connection-string keywords for host B, e.g. \"Max Auto Prepare=64\"." };
        var request = new Option<string>("--request") { Description = "emit | create", DefaultValueFactory = _ => AbScenario.Emit };
        var aHost = new Option<string?>("--a-host") { Description = "Another built JobTrail.Host.dll for host A, e.g. from a worktree of the baseline commit." };
        var bHost = new Option<string?>("--b-host") { Description = "Another built JobTrail.Host.dll for host B." };
        var bNoSavepoints = new Option<bool>("--b-no-ef-savepoints") { Description = "Run both hosts through `serve`, B with EF automatic savepoints off." };
        root.Subcommands.Add(Scenario("ab", "Two JobTrail.Host.dll instances with different settings, requests interleaved: latency B/A.",
            async (parse, context, ct) =>
            {
                var context4 = WithClients(context, 4);
                var a = ParseSettings(parse.GetValue(aSettings));
                var b = ParseSettings(parse.GetValue(bSettings));
                static string Describe(Dictionary<string, string> settings, string? extra, string? host) =>
                    (host is null ? "JobTrail.Host.dll" : $"`{host}`") + (settings.Count == 0 && string.IsNullOrWhiteSpace(extra) ? " as configured by default"
                        : " with " + string.Join(", ", settings.Select(kv => $"`{kv.Key}={kv.Value}`").Concat(string.IsNullOrWhiteSpace(extra) ? [] : [$"`{extra}` in its connection string"])));
                var flags = string.Concat(a.Select(kv => $" --a-setting {kv.Key}={kv.Value}")) + string.Concat(b.Select(kv => $" --b-setting {kv.Key}={kv.Value}")) +
                            (parse.GetValue(aExtra) is { } ae ? $" --a-service-extra \"{ae}\"" : string.Empty) +
                            (parse.GetValue(bExtra) is { } be ? $" --b-service-extra \"{be}\"" : string.Empty) +
                            (parse.GetValue(aHost) is { } ah ? $" --a-host {ah}" : string.Empty) +
                            (parse.GetValue(bHost) is { } bh ? $" --b-host {bh}" : string.Empty);
                var noSavepoints = parse.GetValue(bNoSavepoints);
                var sideA = noSavepoints
                    ? new AbSide("this tool's `serve` hosting the same Program as built", ServerSpec.Serve(capture: true, settings: a), parse.GetValue(aExtra))
                    : new AbSide(Describe(a, parse.GetValue(aExtra), parse.GetValue(aHost)), ServerSpec.Host(a, parse.GetValue(aHost)), parse.GetValue(aExtra));
                var sideB = noSavepoints
                    ? new AbSide("the same `serve` with `Database.AutoSavepointsEnabled = false` on every module DbContext (as the Activity module already sets for its own)",
                        ServerSpec.Serve(capture: true, efSavepoints: false, settings: b), parse.GetValue(bExtra))
                    : new AbSide(Describe(b, parse.GetValue(bExtra), parse.GetValue(bHost)), ServerSpec.Host(b, parse.GetValue(bHost)), parse.GetValue(bExtra));
                return
                [
                    await AbScenario.RunAsync(context4, $"ab: {parse.GetValue(request)}, B vs A, {context4.Options.Clients} clients",
                        context4.Command("ab", $"--clients {context4.Options.Clients} --request {parse.GetValue(request)}{flags}{(noSavepoints ? " --b-no-ef-savepoints" : string.Empty)}"),
                        sideA, sideB, parse.GetValue(request) ?? AbScenario.Emit, budgetRatio: null, ct),
                ];
            },
            aSettings, bSettings, aExtra, bExtra, request, bNoSavepoints, aHost, bHost));
        root.Subcommands.Add(Scenario("all", "Every scenario in turn with its defaults (about 8-10 minutes with --seconds 20).",
            async (parse, context, ct) =>
            [
                await EmitScenario.RunAsync(WithClients(context, 16), ct),
                await BatchScenario.RunAsync(WithClients(context, 16), parse.GetValue(batchSize), ct),
                await SseScenario.RunAsync(context, new SseSettings(Rates(parse.GetValue(rate)), parse.GetValue(subscribers), parse.GetValue(jobs), parse.GetValue(emitters)), ct),
                await ListScenario.RunAsync(WithClients(context, 1), new ListSettings(parse.GetValue(rows), parse.GetValue(perJob), parse.GetValue(seedLimit)), ct),
                await CaptureScenario.RunAsync(WithClients(context, 4), ct),
            ],
            batchSize, rate, subscribers, jobs, emitters, rows, perJob, seedLimit));

        var port = new Option<int>("--port") { Description = "Loopback port.", Required = true };
        var capture = new Option<string>("--capture") { Description = "on | off", DefaultValueFactory = _ => "on" };
        var maxSeconds = new Option<int>("--max-seconds") { Description = "Stop after this long regardless.", DefaultValueFactory = _ => 1800 };
        var efSavepoints = new Option<string>("--ef-savepoints") { Description = "on | off (off: module DbContexts send no SAVEPOINT around SaveChanges).", DefaultValueFactory = _ => "on" };
        var traceSql = new Option<int>("--trace-sql") { Description = "Print the first N SQL statements sent.", DefaultValueFactory = _ => 0 };
        var serve = new Command("serve", "Internal: host the real Program on 127.0.0.1:<port> with activity capture on or off.") { Hidden = true };
        serve.Options.Add(port);
        serve.Options.Add(capture);
        serve.Options.Add(maxSeconds);
        serve.Options.Add(traceSql);
        serve.Options.Add(efSavepoints);
        serve.SetAction((parse, _) => ServeCommand.RunAsync(parse.GetValue(port), parse.GetValue(capture) != "off", parse.GetValue(efSavepoints) != "off", parse.GetValue(maxSeconds), parse.GetValue(traceSql)));
        root.Subcommands.Add(serve);

        return await root.Parse(args).InvokeAsync();
    }

    private static int[] Rates(string? text) =>
        (text ?? "1000").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(r => int.Parse(r, CultureInfo.InvariantCulture)).Where(r => r > 0).ToArray();

    private static Dictionary<string, string> ParseSettings(string[]? settings) =>
        (settings ?? []).Select(s => s.Split('=', 2)).Where(p => p.Length == 2 && p[0].Length > 0).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    private static async Task<int> RunAsync(
        string scenario, CommonOptions options, string? output, Func<BenchContext, CancellationToken, Task<IReadOnlyList<ScenarioReport>>> run, CancellationToken cancellationToken)
    {
        var environment = BenchEnvironment.FromProcess();
        var workDirectory = Path.Combine(Path.GetTempPath(), $"jobtrail-bench-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
        Directory.CreateDirectory(workDirectory);
        var context = new BenchContext(environment, options, workDirectory);
        var started = DateTime.UtcNow;
        var machine = await MachineInfo.DescribeAsync(environment, cancellationToken);
        foreach (var line in machine)
        {
            Console.Error.WriteLine($"[bench] {line}");
        }

        var reports = await run(context, cancellationToken);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## Run of {started:yyyy-MM-dd HH:mm} UTC: `{scenario}` ({(DateTime.UtcNow - started).TotalMinutes:0.0} min)").AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Command: `dotnet run -c Release --project benchmarks/JobTrail.Benchmarks -- {options.CommandLine}`").AppendLine();
        foreach (var line in machine)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- {line}");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"- load average at end: {MachineInfo.LoadAverage()}").AppendLine();
        foreach (var report in reports)
        {
            text.Append(report.ToMarkdown());
        }

        Console.WriteLine(text.ToString());
        if (!string.IsNullOrWhiteSpace(output))
        {
            await File.WriteAllTextAsync(output, text.ToString(), cancellationToken);
            Console.Error.WriteLine($"[bench] report written to {output}");
        }

        Console.Error.WriteLine($"[bench] work files (scripts, API logs): {workDirectory}");
        return 0;
    }
}
