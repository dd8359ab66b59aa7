using JobTrail.BuildingBlocks.Persistence;
using JobTrail.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>
/// Statements queued with <see cref="DbSession.SendWithCommit"/> travel with the COMMIT, in the
/// session's transaction. The sessions here run on a pool of one connection, so a connection handed
/// back in the middle of a transaction would break the next session.
/// </summary>
public sealed class DbSessionCommitTests(JobTrailFixture fixture) : IClassFixture<JobTrailFixture>, IAsyncLifetime
{
    private NpgsqlDataSource? single;

    public async Task InitializeAsync()
    {
        await fixture.ScalarAsOwnerAsync<int>("""
            create table if not exists public.commit_probe (id uuid primary key, workspace_id text);
            grant select, insert on public.commit_probe to public;
            select 1
            """);
        single = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(fixture.App.ServiceConnectionString) { MaxPoolSize = 1 }.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        if (single is not null)
        {
            await single.DisposeAsync();
        }
    }

    [Fact]
    public async Task Statements_sent_with_the_commit_commit_with_the_commands_writes_behind_the_workspace_setting()
    {
        var workspace = Guid.CreateVersion7();
        var (written, queued) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        var afterCommit = false;

        await using (var session = NewSession())
        {
            await session.BeginAsync(workspace, readOnly: false, CancellationToken.None);
            await using (var batch = session.CreateBatch(Insert, written))
            {
                await batch.ExecuteNonQueryAsync();
            }

            session.SendWithCommit(Sql.Statement(Insert, queued));
            session.OnCommitted(() =>
            {
                afterCommit = true;
                return Task.CompletedTask;
            });
            await session.CommitAsync(CancellationToken.None);
        }

        Assert.True(afterCommit);
        Assert.Equal(workspace.ToString(), await WorkspaceOfAsync(written));
        Assert.Equal(workspace.ToString(), await WorkspaceOfAsync(queued));
        await AssertConnectionReusableAsync();
    }

    [Fact]
    public async Task A_session_that_sent_nothing_sends_begin_and_its_workspace_setting_ahead_of_the_statements_queued_for_the_commit()
    {
        var workspace = Guid.CreateVersion7();
        var queued = Guid.CreateVersion7();

        await using (var session = NewSession())
        {
            await session.BeginAsync(workspace, readOnly: false, CancellationToken.None);
            session.SendWithCommit(Sql.Statement(Insert, queued));
            await session.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(workspace.ToString(), await WorkspaceOfAsync(queued));
        await AssertConnectionReusableAsync();
    }

    [Fact]
    public async Task A_statement_sent_with_the_commit_that_fails_commits_nothing_of_the_command_and_runs_no_after_commit_action()
    {
        var (written, duplicate) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        await fixture.ScalarAsOwnerAsync<int>($"insert into public.commit_probe (id) values ('{duplicate}'); select 1");
        var afterCommit = false;

        await using (var session = NewSession())
        {
            await session.BeginAsync(Guid.CreateVersion7(), readOnly: false, CancellationToken.None);
            await using (var batch = session.CreateBatch(Insert, written))
            {
                await batch.ExecuteNonQueryAsync();
            }

            session.SendWithCommit(Sql.Statement(Insert, duplicate));
            session.OnCommitted(() =>
            {
                afterCommit = true;
                return Task.CompletedTask;
            });

            var refused = await Assert.ThrowsAsync<PostgresException>(() => session.CommitAsync(CancellationToken.None));
            Assert.Equal(PostgresErrorCodes.UniqueViolation, refused.SqlState);
        }

        Assert.False(afterCommit);
        Assert.Equal(0L, await fixture.ScalarAsOwnerAsync<long>($"select count(*) from public.commit_probe where id = '{written}'"));
        await AssertConnectionReusableAsync();
    }

    private const string Insert = "insert into public.commit_probe (id, workspace_id) values ($1, current_setting('app.workspace_id', true))";

    private DbSession NewSession() => new(single!, fixture.App.Services.GetRequiredService<ReadReplica>());

    private Task<string?> WorkspaceOfAsync(Guid id) =>
        fixture.ScalarAsOwnerAsync<string>($"select coalesce(workspace_id, 'none') from public.commit_probe where id = '{id}'");

    /// <summary>The pool's one connection takes a new transaction: it was handed back idle, not inside the last one.</summary>
    private async Task AssertConnectionReusableAsync()
    {
        var id = Guid.CreateVersion7();
        await using (var session = NewSession())
        {
            await session.BeginAsync(Guid.CreateVersion7(), readOnly: false, CancellationToken.None);
            await using (var batch = session.CreateBatch(Insert, id))
            {
                await batch.ExecuteNonQueryAsync();
            }

            await session.CommitAsync(CancellationToken.None);
        }

        Assert.Equal(1L, await fixture.ScalarAsOwnerAsync<long>($"select count(*) from public.commit_probe where id = '{id}'"));
    }
}
