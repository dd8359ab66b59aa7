using System.CommandLine;
using System.Globalization;
using JobTrail.Client;

namespace JobTrail.Cli;

/// <summary><c>jobs</c>, <c>events</c>, <c>activity</c>, <c>verify</c>: one page as a table, or <c>--json</c>.</summary>
internal static class ReadCommands
{
    public static IEnumerable<Command> Build(ConnectionOptions connection)
    {
        yield return Jobs(connection);
        yield return Events(connection);
        yield return Activity(connection);
        yield return Verify(connection);
    }

    private static Option<bool> JsonOption() => new("--json") { Description = "Print the API's JSON instead of a table." };

    private static Option<int?> LimitOption() => new("--limit") { Description = "Items per page (1..1000; the API's default is 100)." };

    private static Option<string?> CursorOption() => new("--cursor") { Description = "Continue after a previous page (its nextCursor)." };

    internal static Argument<Guid> JobIdArgument() => new("jobId") { Description = "The job's id." };

    private static Command Jobs(ConnectionOptions connection)
    {
        var status = new Option<JobStatus?>("--status") { Description = "Only jobs in this status (PENDING, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED)." };
        status.CustomParser = r => ParseEnum<JobStatus>(r.Tokens[0].Value, r);
        var type = new Option<string?>("--type") { Description = "Only jobs of this type." };
        var (json, limit, cursor) = (JsonOption(), LimitOption(), CursorOption());
        var command = new Command("jobs", "List the workspace's jobs, newest first.") { status, type, limit, cursor, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = connection.Client(parse);
            var page = await client.ListJobsAsync(parse.GetValue(status), parse.GetValue(type), parse.GetValue(limit), parse.GetValue(cursor), ct);
            if (parse.GetValue(json))
            {
                Terminal.WriteJson(page);
                return CliProgram.Ok;
            }

            Terminal.WriteTable(
                ["ID", "STATUS", "TYPE", "CREATED", "DURATION", "NAME"],
                page.Items.Select(j => (IReadOnlyList<string?>)[j.Id.ToString(), Terminal.Status(j.Status), j.Type, Terminal.Time(j.CreatedAt), Terminal.Duration(j.DurationMs), j.Name]));
            MoreHint(page.NextCursor);
            return CliProgram.Ok;
        });
        return command;
    }

    private static Command Events(ConnectionOptions connection)
    {
        var jobId = JobIdArgument();
        var types = new Option<string[]>("--type") { Description = "Only events of these types (repeatable, e.g. --type step.output)." };
        var afterSeq = new Option<long?>("--after-seq") { Description = "Only events after this seq." };
        var (json, limit, cursor) = (JsonOption(), LimitOption(), CursorOption());
        var command = new Command("events", "List a job's events in seq order.") { jobId, types, afterSeq, limit, cursor, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = connection.Client(parse);
            var selected = parse.GetValue(types);
            var query = new EventQuery(selected is { Length: > 0 } ? selected : null, parse.GetValue(afterSeq), Limit: parse.GetValue(limit), Cursor: parse.GetValue(cursor));
            var page = await client.ListEventsAsync(parse.GetValue(jobId), query, ct);
            if (parse.GetValue(json))
            {
                Terminal.WriteJson(page);
                return CliProgram.Ok;
            }

            Terminal.WriteTable(
                ["SEQ", "OCCURRED", "TYPE", "STEP", "PAYLOAD"],
                page.Items.Select(e => (IReadOnlyList<string?>)[e.Seq.ToString(CultureInfo.InvariantCulture), Terminal.Time(e.OccurredAt), e.Type, e.StepId?.ToString(), Terminal.Summary(e)]));
            MoreHint(page.NextCursor);
            return CliProgram.Ok;
        });
        return command;
    }

    private static Command Activity(ConnectionOptions connection)
    {
        var actor = new Option<string?>("--actor") { Description = "Only this actor's activity." };
        var action = new Option<string?>("--action") { Description = "Only this action, e.g. job.create." };
        var entityType = new Option<string?>("--entity-type") { Description = "Only this entity type, e.g. runner_job." };
        var entityId = new Option<string?>("--entity-id") { Description = "Only this entity id." };
        var (json, limit, cursor) = (JsonOption(), LimitOption(), CursorOption());
        var command = new Command("activity", "List the workspace's activity log, newest first.") { actor, action, entityType, entityId, limit, cursor, json };
        command.SetAction(async (parse, ct) =>
        {
            using var client = connection.Client(parse);
            var query = new ActivityQuery(parse.GetValue(actor), parse.GetValue(action), parse.GetValue(entityType), parse.GetValue(entityId), Limit: parse.GetValue(limit), Cursor: parse.GetValue(cursor));
            var page = await client.ListActivityAsync(query, ct);
            if (parse.GetValue(json))
            {
                Terminal.WriteJson(page);
                return CliProgram.Ok;
            }

            Terminal.WriteTable(
                ["OCCURRED", "OUTCOME", "ACTOR", "ACTION", "ENTITY"],
                page.Items.Select(a => (IReadOnlyList<string?>)[Terminal.Time(a.OccurredAt), Terminal.Status(a.Outcome), a.ActorId, a.Action, a.EntityId is null ? a.EntityType : $"{a.EntityType}/{a.EntityId}"]));
            MoreHint(page.NextCursor);
            return CliProgram.Ok;
        });
        return command;
    }

    private static Command Verify(ConnectionOptions connection)
    {
        var jobId = new Argument<Guid?>("jobId") { Description = "The job whose event chain to verify.", Arity = ArgumentArity.ZeroOrOne };
        var activity = new Option<bool>("--activity") { Description = "Verify the workspace's activity chain instead of a job's events." };
        var json = JsonOption();
        var command = new Command("verify", "Verify a job's event hash chain (or, with --activity, the activity log's). Exit code 1 when it does not verify.") { jobId, activity, json };
        command.Validators.Add(r =>
        {
            var hasJob = r.GetValue(jobId) is not null;
            if (hasJob == r.GetValue(activity))
            {
                r.AddError("give either a job id or --activity");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            using var client = connection.Client(parse);
            var job = parse.GetValue(jobId);
            var result = job is { } id ? await client.VerifyEventsAsync(id, ct) : await client.VerifyActivityAsync(cancellationToken: ct);
            if (parse.GetValue(json))
            {
                Terminal.WriteJson(result);
            }
            else
            {
                var what = job is { } j ? $"job {j} events" : "activity log";
                Console.Out.WriteLine(result.Valid
                    ? string.Create(CultureInfo.InvariantCulture, $"valid: {what}, {result.Checked} checked, last seq {result.LastSeq?.ToString(CultureInfo.InvariantCulture) ?? "-"}")
                    : string.Create(CultureInfo.InvariantCulture, $"INVALID: {what}, first bad seq {result.FirstBadSeq?.ToString(CultureInfo.InvariantCulture) ?? "-"}: {result.Reason} {result.Detail}").TrimEnd());
            }

            return result.Valid ? CliProgram.Ok : CliProgram.Failure;
        });
        return command;
    }

    private static void MoreHint(string? nextCursor)
    {
        if (nextCursor is not null)
        {
            Console.Error.WriteLine($"(more: --cursor {nextCursor})");
        }
    }

    internal static T? ParseEnum<T>(string text, System.CommandLine.Parsing.ArgumentResult result)
        where T : struct, Enum
    {
        foreach (var value in Enum.GetValues<T>())
        {
            if (string.Equals(Terminal.Status(value), text, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        result.AddError($"'{text}' is not one of {string.Join(", ", Enum.GetValues<T>().Select(v => Terminal.Status(v)))}");
        return null;
    }
}
