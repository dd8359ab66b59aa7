using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>
/// Creates the bootstrap workspace and key (all scopes plus <c>system</c>) when
/// <c>JobTrail:Bootstrap:ApiKey</c> is set and they do not exist yet. Runs as the owner role.
/// </summary>
internal sealed class AccessBootstrap(IOptions<BootstrapOptions> options, DatabaseOptions database, TimeProvider clock, ILogger<AccessBootstrap> logger)
{
    public const string BootstrapActor = "system:bootstrap";

    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        // The format was checked at start-up (BootstrapOptions); an empty key means "no bootstrap".
        if (!ApiKeyFormat.TryParse(options.Value.ApiKey, out var keyId, out var secret))
        {
            return;
        }

        var slug = options.Value.Workspace;
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

/// <summary><c>JobTrail:Bootstrap</c>: the first workspace and its all-scopes key, created at start-up when set.</summary>
internal sealed class BootstrapOptions
{
    public const string Section = "JobTrail:Bootstrap";

    public string? ApiKey { get; set; }

    [RegularExpression("^[a-z0-9][a-z0-9-]{0,62}$",
        ErrorMessage = "JobTrail__Bootstrap__Workspace must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit.")]
    public string Workspace { get; set; } = "default";

    public static void Register(IServiceCollection services) =>
        services.AddOptions<BootstrapOptions>()
            .BindConfiguration(Section)
            .ValidateDataAnnotations()
            .Validate(o => string.IsNullOrWhiteSpace(o.ApiKey) || ApiKeyFormat.TryParse(o.ApiKey, out _, out _),
                "JobTrail__Bootstrap__ApiKey must look like jt_<32 hex>_<secret of 32+ characters [A-Za-z0-9_-]>.")
            .ValidateOnStart();
}
