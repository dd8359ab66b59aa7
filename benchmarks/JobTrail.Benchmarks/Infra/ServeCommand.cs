using System.Net;
using System.Runtime.InteropServices;
using JobTrail.BuildingBlocks.Behaviors;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace JobTrail.Benchmarks.Infra;

/// <summary>
/// `serve`: runs the real JobTrail Program on Kestrel (127.0.0.1 only), configured from the
/// environment exactly like JobTrail.Host.dll, optionally with activity capture switched off by
/// removing every <see cref="IActivityCapture"/> after the host registered its own. The host has no
/// such switch; this is how the capture scenario gets a baseline without touching src/.
/// It stops on SIGTERM, on stdin closing (its parent is gone) or after <c>maxSeconds</c>.
/// </summary>
internal static class ServeCommand
{
    public static async Task<int> RunAsync(int port, bool capture, int maxSeconds)
    {
        await using var factory = new ServedApp(capture);
        factory.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
        factory.StartServer();
        await Console.Out.WriteLineAsync($"[serve] listening on http://127.0.0.1:{port}, activity capture {(capture ? "on" : "off")}");

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stop.TrySetResult();
        });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stop.TrySetResult();
        });
        // The parent holds our stdin open; end of input means it went away.
        _ = Task.Run(async () =>
        {
            while (await Console.In.ReadLineAsync() is not null)
            {
            }

            stop.TrySetResult();
        });
        await Task.WhenAny(stop.Task, Task.Delay(TimeSpan.FromSeconds(maxSeconds)));
        await Console.Out.WriteLineAsync("[serve] stopping");
        return 0;
    }

    private sealed class ServedApp(bool capture) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment(Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? "Production");
            if (!capture)
            {
                builder.ConfigureTestServices(services => services.RemoveAll<IActivityCapture>());
            }
        }
    }
}
