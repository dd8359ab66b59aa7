using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>
/// Creates the bootstrap workspace and key (all scopes plus <c>system</c>) when
/// <c>JobTrail:Bootstrap:ApiKey</c> is set and they do not exist yet. Runs as the owner role.
/// </summary>
internal sealed class AccessBootstrap(IConfiguration configuration, DatabaseOptions database, TimeProvider clock, ILogger<AccessBootstrap> logger)
{
    public const string BootstrapActor = "system:bootstrap";

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var key = configuration["JobTrail:Bootstrap:ApiKey"];
        if (string.IsNullOrWhiteSpace(key))
        {
            return;
        }

        if (!ApiKeyFormat.TryParse(key, out var keyId, out var secret))
        {
            throw new InvalidOperationException("JobTrail:Bootstrap:ApiKey must look like jt_<32 hex>_<secret of 32+ characters [A-Za-z0-9_-]>.");
        }

        var slug = configuration["JobTrail:Bootstrap:Workspace"] is { Length: > 0 } configured ? configured : "default";
        var now = clock.UtcNowMicros();

        await using var connection = new NpgsqlConnection(database.OwnerConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        var workspaceId = await Scalar<Guid?>(connection, transaction, "select workspace_id from access.workspace_slugs where slug = $1", cancellationToken, slug);
        if (workspaceId is null)
        {
            workspaceId = Guid.CreateVersion7();
            await WorkspaceSetting.ApplyAsync(connection, transaction, workspaceId.Value, cancellationToken);
            await Execute(connection, transaction, "insert into access.workspace_slugs (slug, workspace_id) values ($1, $2)", cancellationToken, slug, workspaceId.Value);
            await Execute(connection, transaction,
                "insert into access.workspaces (workspace_id, slug, name, created_at, created_by) values ($1, $2, $3, $4, $5)",
                cancellationToken, workspaceId.Value, slug, slug, now, BootstrapActor);
            logger.LogInformation("Created bootstrap workspace {Slug} ({WorkspaceId})", slug, workspaceId);
        }
        else
        {
            await WorkspaceSetting.ApplyAsync(connection, transaction, workspaceId.Value, cancellationToken);
        }

        var keyWorkspace = await Scalar<Guid?>(connection, transaction, "select workspace_id from access.api_key_directory where key_id = $1", cancellationToken, keyId);
        if (keyWorkspace is null)
        {
            await Execute(connection, transaction, "insert into access.api_key_directory (key_id, workspace_id) values ($1, $2)", cancellationToken, keyId, workspaceId.Value);
            await Execute(connection, transaction,
                "insert into access.api_keys (id, workspace_id, name, actor_id, scopes, secret_hash, created_at, created_by) values ($1, $2, $3, $4, $5, $6, $7, $8)",
                cancellationToken, keyId, workspaceId.Value, "bootstrap", BootstrapActor, Scopes.All.Order(StringComparer.Ordinal).ToArray(), ApiKeyFormat.Hash(secret), now, BootstrapActor);
            logger.LogInformation("Created bootstrap API key {KeyId} in workspace {Slug}", ApiKeyFormat.Describe(keyId), slug);
        }
        else if (keyWorkspace != workspaceId)
        {
            throw new InvalidOperationException($"The bootstrap API key already belongs to another workspace than '{slug}'.");
        }
        else if (await Scalar<bool>(connection, transaction, "select revoked_at is not null from access.api_keys where id = $1", cancellationToken, keyId))
        {
            logger.LogWarning("The bootstrap API key {KeyId} was revoked and stays revoked; configure a new one", ApiKeyFormat.Describe(keyId));
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task<T?> Scalar<T>(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        var result = await command.ExecuteScalarAsync(cancellationToken);
        return result is null or DBNull ? default : (T)result;
    }

    private static async Task Execute(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, params object[] args)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var arg in args)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = arg });
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
