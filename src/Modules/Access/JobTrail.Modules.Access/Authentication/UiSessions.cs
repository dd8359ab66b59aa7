using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;

namespace JobTrail.Modules.Access.Authentication;

/// <summary><c>JobTrail:Access:UiSession</c>: how long a dashboard session lives (<c>Lifetime</c>, default 12 hours).</summary>
internal sealed class UiSessionOptions
{
    public const string Section = "JobTrail:Access:UiSession";

    public TimeSpan Lifetime { get; set; } = TimeSpan.FromHours(12);
}

/// <summary>The names and derivations of a dashboard session: the cookie, its stored hash and its CSRF token.</summary>
internal static class UiSessionTokens
{
    public const string Cookie = "jt_session";
    public const string CsrfHeader = "X-CSRF-Token";

    /// <summary>256 random bits, URL-safe: the only thing the browser holds.</summary>
    public static string NewId() => WebEncoders.Base64UrlEncode(RandomNumberGenerator.GetBytes(32));

    /// <summary>What the database keeps instead of the id.</summary>
    public static byte[] Hash(string id) => SHA256.HashData(Encoding.UTF8.GetBytes("jobtrail-ui-session\0" + id));

    /// <summary>
    /// The CSRF token is derived from the session id: another site can neither read the cookie nor
    /// compute it, and nothing extra needs storing. The page fetches it after signing in.
    /// </summary>
    public static string CsrfToken(string id) =>
        WebEncoders.Base64UrlEncode(SHA256.HashData(Encoding.UTF8.GetBytes("jobtrail-ui-csrf\0" + id)));

    public static bool CsrfMatches(string id, string? presented) =>
        presented is not null && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(CsrfToken(id)), Encoding.UTF8.GetBytes(presented));
}

internal sealed record UiSessionKey(Guid KeyId, Guid WorkspaceId, string ActorId, string[] Scopes, bool Revoked, DateTime ExpiresAt);

/// <summary>Sessions live in <c>access.ui_sessions</c>, reached only through its security-definer functions.</summary>
internal sealed class UiSessionStore(NpgsqlDataSource dataSource, UiSessionOptions options)
{
    public async Task<(string Id, DateTime ExpiresAt)> StartAsync(Guid keyId, CancellationToken cancellationToken)
    {
        var id = UiSessionTokens.NewId();
        await using var command = dataSource.CreateCommand("select access.start_ui_session($1, $2, $3)");
        command.Parameters.Add(new NpgsqlParameter { Value = UiSessionTokens.Hash(id) });
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        command.Parameters.Add(new NpgsqlParameter { Value = options.Lifetime });
        var expires = (DateTime)(await command.ExecuteScalarAsync(cancellationToken))!;
        return (id, expires);
    }

    public async Task<UiSessionKey?> FindAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "select key_id, workspace_id, actor_id, scopes, revoked, expires_at from access.find_ui_session($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = UiSessionTokens.Hash(id) });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new UiSessionKey(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetFieldValue<string[]>(3), reader.GetBoolean(4), reader.GetFieldValue<DateTime>(5))
            : null;
    }

    public async Task<bool> EndAsync(string id, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("select access.end_ui_session($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = UiSessionTokens.Hash(id) });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
