using System.Collections.Concurrent;
using System.Data.Common;
using JobTrail.Modules.Activity.Contracts;
using JobTrail.IntegrationTests.Infrastructure;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace JobTrail.IntegrationTests.Activity;

/// <summary>Every statement EF sends (and every savepoint or connection it opens), with the connection and transaction it used.</summary>
internal sealed class CommandLog : DbCommandInterceptor, IDbTransactionInterceptor, IDbConnectionInterceptor
{
    private readonly ConcurrentQueue<LoggedCommand> entries = new();

    public IReadOnlyList<LoggedCommand> Entries => [.. entries];

    public void Clear() => entries.Clear();

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result) =>
        Log(command, result);

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Log(command, result));

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result) =>
        Log(command, result);

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Log(command, result));

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result) =>
        Log(command, result);

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(
        DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default) =>
        ValueTask.FromResult(Log(command, result));

    InterceptionResult IDbTransactionInterceptor.CreatingSavepoint(DbTransaction transaction, TransactionEventData eventData, InterceptionResult result)
    {
        entries.Enqueue(new LoggedCommand("SAVEPOINT", transaction.Connection, transaction));
        return result;
    }

    ValueTask<InterceptionResult> IDbTransactionInterceptor.CreatingSavepointAsync(
        DbTransaction transaction, TransactionEventData eventData, InterceptionResult result, CancellationToken cancellationToken)
    {
        entries.Enqueue(new LoggedCommand("SAVEPOINT", transaction.Connection, transaction));
        return ValueTask.FromResult(result);
    }

    InterceptionResult IDbConnectionInterceptor.ConnectionOpening(DbConnection connection, ConnectionEventData eventData, InterceptionResult result)
    {
        entries.Enqueue(new LoggedCommand("OPEN CONNECTION", connection, null));
        return result;
    }

    ValueTask<InterceptionResult> IDbConnectionInterceptor.ConnectionOpeningAsync(
        DbConnection connection, ConnectionEventData eventData, InterceptionResult result, CancellationToken cancellationToken)
    {
        entries.Enqueue(new LoggedCommand("OPEN CONNECTION", connection, null));
        return ValueTask.FromResult(result);
    }

    private T Log<T>(DbCommand command, T result)
    {
        entries.Enqueue(new LoggedCommand(command.CommandText, command.Connection, command.Transaction));
        return result;
    }
}

internal sealed record LoggedCommand(string Text, DbConnection? Connection, DbTransaction? Transaction)
{
    public bool IsActivityInsert => Text.Contains("INSERT INTO activity.activity_logs", StringComparison.OrdinalIgnoreCase);
}

public sealed class ActivityCaptureCostFixture() : JobTrailFixture(settings: null, configureServices: AddCommandLog)
{
    internal static void AddCommandLog(IServiceCollection services)
    {
        services.AddSingleton<CommandLog>();
        services.AddSingleton<IInterceptor>(sp => sp.GetRequiredService<CommandLog>());
    }
}

/// <summary>
/// The capture's price before the commit: nothing. Its one INSERT is queued on the command's session
/// and sent in the COMMIT's batch (counted on the wire in <c>RoundTripTests</c>), so the command's own
/// statements, connection and transaction are the same with capture on and off.
/// </summary>
public sealed class ActivityCaptureCostTests(ActivityCaptureCostFixture fixture) : IClassFixture<ActivityCaptureCostFixture>
{
    public static TheoryData<string> Commands() => ["create job", "change job status", "create step", "record tokens"];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task Capture_sends_no_statement_of_its_own_before_the_commit(string command)
    {
        var commands = await RecordAsync(fixture.App.Services.GetRequiredService<CommandLog>(), fixture.Client(), command);

        Assert.DoesNotContain(commands, c => c.IsActivityInsert);
        Assert.DoesNotContain(commands, c => c.Text == "OPEN CONNECTION");
        Assert.All(commands, c =>
        {
            Assert.Same(commands[0].Connection, c.Connection);
            Assert.Same(commands[0].Transaction, c.Transaction);
        });
    }

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task The_same_command_without_capture_sends_the_same_statements(string command)
    {
        await using var uncaptured = fixture.App.WithWebHostBuilder(b => b.ConfigureTestServices(s => s.RemoveAll<IActivityCapture>()));
        var withoutClient = uncaptured.CreateClient();
        withoutClient.DefaultRequestHeaders.Authorization = new("Bearer", fixture.BootstrapKey);

        var with = await RecordAsync(fixture.App.Services.GetRequiredService<CommandLog>(), fixture.Client(), command);
        var without = await RecordAsync(uncaptured.Services.GetRequiredService<CommandLog>(), withoutClient, command);

        Assert.Equal(without.Select(c => c.Text), with.Select(c => c.Text));
    }

    /// <summary>Sets up what the command needs, then logs only the command's own statements.</summary>
    private static async Task<IReadOnlyList<LoggedCommand>> RecordAsync(CommandLog log, HttpClient client, string command)
    {
        var jobId = (await client.CreateJobAsync()).Id();
        var stepId = (await client.CreateStepAsync(jobId, "review", "VALIDATION", "AI_ACTION")).Id();
        log.Clear();
        var response = command switch
        {
            "create job" => await client.PostJsonAsync("/api/runner-jobs", new { type = "ci" }),
            "change job status" => await client.SetJobStatusAsync(jobId, "RUNNING"),
            "create step" => await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps", new { name = "lint", phase = "EXECUTION", type = "COMMAND" }),
            "record tokens" => await client.PostJsonAsync($"/api/runner-jobs/{jobId}/steps/{stepId}/tokens", new { input = 10, output = 2 }),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command, null),
        };
        Assert.True(response.Status is 200 or 201, response.Body);
        var commands = log.Entries;
        Assert.NotEmpty(commands);
        return commands;
    }
}
