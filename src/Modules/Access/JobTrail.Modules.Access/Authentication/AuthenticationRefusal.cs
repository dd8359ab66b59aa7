using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace JobTrail.Modules.Access.Authentication;

/// <summary>
/// How both schemes refuse: the reason authentication failed is kept in the request's items under the
/// scheme's own key, and the challenge answers it as a problem with a code a client can act on.
/// </summary>
internal static class AuthenticationRefusal
{
    public static AuthenticateResult Fail(HttpContext context, string itemKey, string reason)
    {
        context.Items[itemKey] = reason;
        return AuthenticateResult.Fail(reason);
    }

    public static async Task ChallengeAsync(
        IProblemDetailsService problems, HttpContext context, string itemKey, int status, string code, string defaultDetail)
    {
        context.Response.StatusCode = status;
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails
            {
                Status = status,
                Detail = context.Items.TryGetValue(itemKey, out var reason) && reason is string text ? text : defaultDetail,
                Extensions = { ["code"] = code },
            },
        });
    }
}
