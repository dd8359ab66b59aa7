namespace JobTrail.Host;

/// <summary>Conservative response headers: the API serves JSON and event streams; the dashboard gets its own strict policy.</summary>
internal sealed class SecurityHeadersMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        http.Response.OnStarting(() =>
        {
            var headers = http.Response.Headers;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            if (http.Request.Path.StartsWithSegments(Ui.Dashboard.Prefix))
            {
                headers.ContentSecurityPolicy = Ui.Dashboard.ContentSecurityPolicy;
            }
            else if (!http.Request.Path.StartsWithSegments("/swagger"))
            {
                headers.ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'";
            }

            return Task.CompletedTask;
        });
        return next(http);
    }
}
