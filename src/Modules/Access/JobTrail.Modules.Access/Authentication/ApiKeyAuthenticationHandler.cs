using JobTrail.Modules.Access.Contracts;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>
/// <c>Authorization: Bearer jt_…</c>. A key read and verified is kept in <see cref="ApiKeyCache"/>
/// for at most <see cref="AccessOptions.KeyCacheMaxAge"/>; a revocation evicts it at once here and
/// through <see cref="KeyRevocations"/> on the other instances. A database that cannot be reached is
/// not a bad key: that exception goes on to the exception handler, which answers 503, never 401.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    NpgsqlDataSource dataSource,
    RequestContext requestContext,
    IProblemDetailsService problems,
    DatabaseAvailability database,
    ApiKeyCache cache)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = AccessAuthentication.Scheme;
    private static readonly byte[] UnknownKeyHash = ApiKeyFormat.Hash("no-such-key");
    private const string FailureKey = "jobtrail.auth.failure";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (string.IsNullOrEmpty(header))
        {
            // Anonymous endpoints (health, OpenAPI) need nothing; protected ones challenge below.
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Fail("The Authorization header must use the Bearer scheme.");
        }

        if (!ApiKeyFormat.TryParse(header["Bearer ".Length..].Trim(), out var keyId, out var secret))
        {
            return Fail("The API key is malformed.");
        }

        var digest = KeyDigest.Of(keyId, secret);
        if (cache.TryGet(digest, out var cached))
        {
            return Success(cached);
        }

        var ticket = cache.Begin();
        var stored = await FindAsync(keyId, Context.RequestAborted);
        // The first database call of every authenticated request: it is where an outage is seen to end.
        database.ReportReachable("authentication");
        // Compare even for unknown keys so the answer takes as long either way.
        var matches = ApiKeyFormat.Matches(secret, stored?.SecretHash ?? UnknownKeyHash);
        if (stored is null || !matches)
        {
            return Fail("The API key is not valid.");
        }

        if (stored.Revoked)
        {
            return Fail("The API key has been revoked.");
        }

        var verified = new VerifiedKey(keyId, stored.WorkspaceId, stored.ActorId, stored.Scopes);
        cache.Add(digest, verified, ticket);
        return Success(verified);
    }

    private AuthenticateResult Success(VerifiedKey key)
    {
        requestContext.Authenticate(key.WorkspaceId, key.KeyId, key.ActorId, key.Scopes);
        return AuthenticateResult.Success(new AuthenticationTicket(key.Principal, SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return AuthenticationRefusal.ChallengeAsync(problems, Context, FailureKey, StatusCodes.Status401Unauthorized, "unauthorized",
            "Send an API key as 'Authorization: Bearer <key>'.");
    }

    private AuthenticateResult Fail(string reason) => AuthenticationRefusal.Fail(Context, FailureKey, reason);

    private async Task<StoredKey?> FindAsync(Guid keyId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select workspace_id, actor_id, scopes, secret_hash, revoked from access.find_api_key($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new StoredKey(
            reader.GetGuid(0),
            reader.GetString(1),
            reader.GetFieldValue<string[]>(2),
            reader.GetFieldValue<byte[]>(3),
            reader.GetBoolean(4));
    }

    private sealed record StoredKey(Guid WorkspaceId, string ActorId, string[] Scopes, byte[] SecretHash, bool Revoked);
}
