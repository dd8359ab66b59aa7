using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>The authentication schemes behind <see cref="AccessAuthentication.Scheme"/>, which picks one per request.</summary>
internal static class AccessSchemes
{
    public const string Bearer = "ApiKeyBearer";
    public const string Session = "UiSession";

    /// <summary>A bearer key wins; otherwise a dashboard session cookie; otherwise the bearer challenge.</summary>
    public static string Select(HttpContext http) =>
        http.Request.Headers.Authorization.Count == 0 && http.Request.Cookies.ContainsKey(UiSessionTokens.Cookie) ? Session : Bearer;
}

/// <summary>
/// The dashboard's cookie: the session is looked up on every request (so signing out, expiry and a
/// revoked key take effect at once, on every instance), and it authenticates as its API key, with
/// the key's scopes. A request that can change state must also carry the session's CSRF token.
/// </summary>
internal sealed class UiSessionAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory loggerFactory,
    UrlEncoder encoder,
    UiSessionStore sessions,
    RequestContext requestContext,
    IProblemDetailsService problems,
    DatabaseAvailability database)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SessionIdItem = "jobtrail.ui.session";
    private const string FailureItem = "jobtrail.ui.failure";
    private const string CsrfItem = "jobtrail.ui.csrf";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Cookies.TryGetValue(UiSessionTokens.Cookie, out var id) || string.IsNullOrEmpty(id) || id.Length > 128)
        {
            return AuthenticateResult.NoResult();
        }

        var session = await sessions.FindAsync(id, Context.RequestAborted);
        database.ReportReachable("authentication");
        if (session is null)
        {
            return Fail("The dashboard session has ended or is not valid; sign in again.");
        }

        if (session.Revoked)
        {
            return Fail("The API key of this dashboard session has been revoked.");
        }

        if (!HttpMethods.IsGet(Request.Method) && !HttpMethods.IsHead(Request.Method) && !HttpMethods.IsOptions(Request.Method)
            && !UiSessionTokens.CsrfMatches(id, Request.Headers[UiSessionTokens.CsrfHeader].FirstOrDefault()))
        {
            Context.Items[CsrfItem] = true;
            return Fail($"A request that changes state with the dashboard's cookie must send the session's '{UiSessionTokens.CsrfHeader}' header.");
        }

        Context.Items[SessionIdItem] = id;
        requestContext.Authenticate(session.WorkspaceId, session.KeyId, session.ActorId, session.Scopes);
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, session.ActorId),
            new("workspace_id", session.WorkspaceId.ToString()),
            new("key_id", session.KeyId.ToString()),
            new("session_expires_at", session.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture)),
        };
        claims.AddRange(session.Scopes.Select(s => new Claim("scope", s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, AccessSchemes.Session));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, AccessSchemes.Session));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var csrf = Context.Items.ContainsKey(CsrfItem);
        return AuthenticationRefusal.ChallengeAsync(problems, Context, FailureItem,
            csrf ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized, csrf ? "csrf_token" : "unauthorized",
            "Sign in to the dashboard, or send an API key as 'Authorization: Bearer <key>'.");
    }

    private AuthenticateResult Fail(string reason) => AuthenticationRefusal.Fail(Context, FailureItem, reason);
}
