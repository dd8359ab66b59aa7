using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// TestServer requests have no TCP peer (<c>RemoteIpAddress</c> is null). Registered in a test
/// host, this sets the peer from the <see cref="HeaderName"/> header before any of the app's own
/// middleware (forwarded headers included) runs, so tests can play "a client" or "a proxy".
/// </summary>
internal sealed class TestPeerAddress : IStartupFilter
{
    public const string HeaderName = "X-Test-Peer-Address";

    public static void Register(IServiceCollection services) => services.AddSingleton<IStartupFilter, TestPeerAddress>();

    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use((http, nextMiddleware) =>
        {
            if (http.Request.Headers.Remove(HeaderName, out var value) && IPAddress.TryParse(value.ToString(), out var address))
            {
                http.Connection.RemoteIpAddress = address;
            }

            return nextMiddleware(http);
        });
        next(app);
    };
}
