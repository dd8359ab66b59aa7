using System.Security.Claims;
using Microsoft.AspNetCore.Authorization;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>What the dashboard learns about its session: who it is, what it may do, and its CSRF token.</summary>
internal sealed record UiSessionResponse(Guid WorkspaceId, string ActorId, IReadOnlyList<string> Scopes, string CsrfToken, DateTime ExpiresAt);

/// <summary>
/// Signing in and out of the dashboard. Part of authentication, like the key handler, not a slice:
/// signing in takes the key once, as a bearer credential, and answers with the session cookie.
/// </summary>
internal static class UiSessionEndpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        // The dashboard's own door, not part of the API's contract: kept out of the OpenAPI document,
        // whose operations each name one scope (these need a valid key or session, no scope).
        var group = app.MapGroup("/api/ui/session").ExcludeFromDescription();

        group.MapPost("/", async (HttpContext http, UiSessionStore sessions, CancellationToken ct) =>
            {
                var keyId = Guid.Parse(http.User.FindFirstValue("key_id")!);
                var (id, expires) = await sessions.StartAsync(keyId, ct);
                http.Response.Cookies.Append(UiSessionTokens.Cookie, id, new CookieOptions
                {
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Secure = http.Request.IsHttps,
                    Path = "/",
                    Expires = expires,
                    IsEssential = true,
                });
                return TypedResults.Created((string?)null, Describe(http.User, id, expires));
            })
            .RequireAuthorization(new AuthorizationPolicyBuilder(AccessSchemes.Bearer).RequireAuthenticatedUser().Build())
            .WithName("StartUiSession")
            .WithSummary("Sign in to the dashboard with the API key in 'Authorization: Bearer'; answers an HttpOnly session cookie and the session's CSRF token.")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        group.MapGet("/", (HttpContext http) =>
            {
                var id = (string)http.Items[UiSessionAuthenticationHandler.SessionIdItem]!;
                var expires = DateTime.Parse(http.User.FindFirstValue("session_expires_at")!, System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.RoundtripKind);
                return TypedResults.Ok(Describe(http.User, id, expires));
            })
            .RequireAuthorization(SessionOnly())
            .WithName("GetUiSession")
            .WithSummary("The dashboard session of the cookie: actor, workspace, scopes and CSRF token.")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        group.MapDelete("/", async (HttpContext http, UiSessionStore sessions, CancellationToken ct) =>
            {
                await sessions.EndAsync((string)http.Items[UiSessionAuthenticationHandler.SessionIdItem]!, ct);
                http.Response.Cookies.Delete(UiSessionTokens.Cookie, new CookieOptions { Path = "/", SameSite = SameSiteMode.Strict, Secure = http.Request.IsHttps, HttpOnly = true });
                return TypedResults.NoContent();
            })
            .RequireAuthorization(SessionOnly())
            .WithName("EndUiSession")
            .WithSummary("Sign out: ends the session on the server (every instance) and clears the cookie; needs the CSRF token.")
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status403Forbidden);
    }

    private static AuthorizationPolicy SessionOnly() =>
        new AuthorizationPolicyBuilder(AccessSchemes.Session).RequireAuthenticatedUser().Build();

    private static UiSessionResponse Describe(ClaimsPrincipal user, string id, DateTime expires) => new(
        Guid.Parse(user.FindFirstValue("workspace_id")!),
        user.FindFirstValue(ClaimTypes.NameIdentifier)!,
        [.. user.FindAll("scope").Select(c => c.Value).Order(StringComparer.Ordinal)],
        UiSessionTokens.CsrfToken(id),
        expires);
}
