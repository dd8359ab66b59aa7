using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace JobTrail.BuildingBlocks.Http;

/// <summary>
/// Accepts a well-formed <c>X-Correlation-Id</c> or makes one, echoes it, puts it in the log scope
/// and fills the request context's origin fields (IP, user agent).
/// </summary>
public sealed partial class CorrelationIdMiddleware(RequestDelegate next, ILogger<CorrelationIdMiddleware> logger)
{
    public const string HeaderName = "X-Correlation-Id";

    public async Task InvokeAsync(HttpContext http, RequestContext context)
    {
        var supplied = http.Request.Headers[HeaderName].ToString();
        context.CorrelationId = IsAcceptable(supplied) ? supplied : Guid.CreateVersion7().ToString("N");
        context.IpAddress = http.Connection.RemoteIpAddress?.ToString();
        var userAgent = http.Request.Headers.UserAgent.ToString();
        context.UserAgent = string.IsNullOrEmpty(userAgent) ? null : Printable(userAgent[..Math.Min(userAgent.Length, 512)]);

        http.Response.OnStarting(() =>
        {
            http.Response.Headers[HeaderName] = context.CorrelationId;
            return Task.CompletedTask;
        });

        using (logger.BeginScope(new Dictionary<string, object> { ["CorrelationId"] = context.CorrelationId }))
        {
            await next(http);
        }
    }

    /// <summary>Control characters (and anything PostgreSQL could not store) become '?': the header is evidence, not markup.</summary>
    private static string Printable(string value) =>
        value.Any(c => char.IsControl(c) || char.IsSurrogate(c)) ? string.Concat(value.Select(c => char.IsControl(c) || char.IsSurrogate(c) ? '?' : c)) : value;

    private static bool IsAcceptable(string value) => value.Length is > 0 and <= 128 && SafeId().IsMatch(value);

    [GeneratedRegex("^[A-Za-z0-9._:\\-]+$")]
    private static partial Regex SafeId();
}
