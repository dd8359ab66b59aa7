using Microsoft.Extensions.FileProviders;
using Microsoft.Net.Http.Headers;

namespace JobTrail.Host.Ui;

/// <summary>
/// The dashboard: plain HTML, CSS and ES modules from <c>ui/</c> next to the host's assembly (copied
/// there by the build; no build step, nothing from elsewhere). It only calls the public API, so it
/// belongs to no module; its session is Access's (<c>/api/ui/session</c>).
/// </summary>
internal static class Dashboard
{
    public const string Prefix = "/ui";

    /// <summary>The page's policy: scripts, styles and connections only from this origin; nothing inline, no eval.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static string Root => Path.Combine(AppContext.BaseDirectory, "ui");

    /// <summary>Serves <c>/ui/assets/*</c> before authentication: they hold no data.</summary>
    public static IApplicationBuilder UseDashboardAssets(this IApplicationBuilder app)
    {
        var provider = new PhysicalFileProvider(Path.Combine(Root, "assets"));
        return app.UseStaticFiles(new StaticFileOptions
        {
            FileProvider = provider,
            RequestPath = Prefix + "/assets",
            OnPrepareResponse = context => context.Context.Response.Headers.CacheControl = "no-cache",
        });
    }

    /// <summary>
    /// Every page's deep link answers the same shell; the scripts read the path. The routes are
    /// named one by one: a catch-all would also match <c>/ui/assets/*</c>, and static files are only
    /// served where no endpoint matched.
    /// </summary>
    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        var shell = Path.Combine(Root, "index.html");
        foreach (var page in new[] { Prefix, Prefix + "/jobs/{jobId:guid}", Prefix + "/activity", Prefix + "/audit/{entityType}/{entityId}" })
        {
            app.MapGet(page, () => Shell(shell)).AllowAnonymous().ExcludeFromDescription();
        }

        return app;
    }

    private static IResult Shell(string path) =>
        Results.File(path, "text/html; charset=utf-8", lastModified: null, entityTag: (EntityTagHeaderValue?)null);
}
