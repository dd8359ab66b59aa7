using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>
/// A Valkey/Redis server of a test's own on a free loopback port, so a fault test can stop and
/// restart it without disturbing other test classes. Uses the server binary scripts/services.sh found.
/// Like the one scripts/services.sh starts, it requires a password.
/// </summary>
public sealed class ValkeyServer : IAsyncDisposable
{
    private Process? process;

    public int Port { get; } = FreePort();

    public string Password { get; } = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    public string Endpoint => $"127.0.0.1:{Port}";

    /// <summary>The StackExchange.Redis configuration string (endpoint and password), as <c>JobTrail:Valkey</c> takes it.</summary>
    public string Configuration => $"{Endpoint},password={Password}";

    public async Task StartAsync()
    {
        var binary = Environment.GetEnvironmentVariable("JOBTRAIL_VALKEY_SERVER")
            ?? throw new InvalidOperationException("JOBTRAIL_VALKEY_SERVER is not set: run the tests through scripts/test.sh.");
        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--requirepass", Password })
        {
            start.ArgumentList.Add(arg);
        }

        process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {binary}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await Eventually.GetAsync(IsAnsweringAsync, up => up, TimeSpan.FromSeconds(20), $"Valkey to answer on {Endpoint}");
    }

    /// <summary>Kills the server at once, as a crash would; everything it held is gone.</summary>
    public async Task StopAsync()
    {
        if (process is { HasExited: false })
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        process?.Dispose();
        process = null;
        await Eventually.GetAsync(async () => !await IsAnsweringAsync(), down => down, TimeSpan.FromSeconds(20), $"Valkey on {Endpoint} to stop");
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task<bool> IsAnsweringAsync()
    {
        try
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, Port);
            await using var stream = tcp.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"AUTH {Password}\r\nPING\r\n"));
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer);
            return read > 0 && buffer[0] == (byte)'+';
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
