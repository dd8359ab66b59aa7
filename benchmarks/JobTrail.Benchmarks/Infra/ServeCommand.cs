using System.Net;
using System.Runtime.InteropServices;
using JobTrail.Modules.Activity.Contracts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
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
    public static async Task<int> RunAsync(int port, bool capture, bool efSavepoints, int maxSeconds, int traceSql)
    {
        // --trace-sql N: print the first N statements Npgsql sends (from its ActivitySource), to see
        // what one request costs in round trips.
        using var sqlListener = traceSql > 0 ? TraceSql(traceSql) : null;
        await using var factory = new ServedApp(capture, efSavepoints);
        factory.UseKestrel(options => options.Listen(IPAddress.Loopback, port));
        factory.StartServer();
        await Console.Out.WriteLineAsync($"[serve] listening on http://127.0.0.1:{port}, activity capture {(capture ? "on" : "off")}, EF automatic savepoints {(efSavepoints ? "as built" : "off")}");

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
            await using var input = Console.OpenStandardInput();
            var discard = new byte[256];
            while (await input.ReadAsync(discard) > 0)
            {
            }

            stop.TrySetResult();
        });
        await Task.WhenAny(stop.Task, Task.Delay(TimeSpan.FromSeconds(maxSeconds)));
        await Console.Out.WriteLineAsync("[serve] stopping");
        return 0;
    }

    private static System.Diagnostics.ActivityListener TraceSql(int limit)
    {
        var printed = 0;
        var listener = new System.Diagnostics.ActivityListener
        {
            ShouldListenTo = source => source.Name == "Npgsql",
            Sample = (ref System.Diagnostics.ActivityCreationOptions<System.Diagnostics.ActivityContext> _) => System.Diagnostics.ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (Interlocked.Increment(ref printed) <= limit)
                {
                    var statement = activity.GetTagItem("db.query.text") ?? activity.GetTagItem("db.statement") ?? activity.DisplayName;
                    Console.WriteLine($"[sql] {activity.Duration.TotalMilliseconds:0.00} ms {statement?.ToString()?.ReplaceLineEndings(" ")}");
                }
            },
        };
        System.Diagnostics.ActivitySource.AddActivityListener(listener);
        return listener;
    }

    private sealed class ServedApp(bool capture, bool efSavepoints) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment(Environment.GetEnvironmentVariable("ASPNETCORE_ENVIRONMENT") ?? "Production");
            builder.ConfigureTestServices(services =>
            {
                if (!capture)
                {
                    services.RemoveAll<IActivityCapture>();
                }

                if (!efSavepoints)
                {
                    WithoutAutomaticSavepoints(services);
                }
            });
        }

        /// <summary>
        /// Wraps every scoped module DbContext factory (AddModuleDbContext) so its contexts have
        /// <c>Database.AutoSavepointsEnabled = false</c>, as the Activity module already does for its own:
        /// SaveChanges inside the request's transaction then sends no SAVEPOINT / RELEASE round trips.
        /// </summary>
        private static void WithoutAutomaticSavepoints(IServiceCollection services)
        {
            for (var i = 0; i < services.Count; i++)
            {
                var descriptor = services[i];
                if (descriptor.Lifetime == ServiceLifetime.Scoped && !descriptor.IsKeyedService &&
                    descriptor.ImplementationFactory is { } factory && typeof(DbContext).IsAssignableFrom(descriptor.ServiceType))
                {
                    services[i] = new ServiceDescriptor(descriptor.ServiceType, sp =>
                    {
                        var context = (DbContext)factory(sp);
                        context.Database.AutoSavepointsEnabled = false;
                        return context;
                    }, ServiceLifetime.Scoped);
                }
            }
        }
    }
}
