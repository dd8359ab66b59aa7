using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using Npgsql;

namespace JobTrail.Benchmarks.Infra;

/// <summary>What the numbers were measured on: cores, memory, versions, and how busy the machine was.</summary>
internal static class MachineInfo
{
    public static async Task<IReadOnlyList<string>> DescribeAsync(BenchEnvironment environment, CancellationToken cancellationToken)
    {
        var lines = new List<string>
        {
            $"cores (nproc): {Environment.ProcessorCount}; CPU: {CpuModel()}",
            $"memory: {MemTotalGiB():0.0} GiB; kernel {Read("/proc/sys/kernel/osrelease")}",
            $".NET runtime: {RuntimeInformation.FrameworkDescription}",
        };
        try
        {
            await using var connection = new NpgsqlConnection(BenchEnvironment.ForDatabase(environment.OwnerConnectionString, "postgres"));
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand(
                """
                select version(), current_setting('shared_buffers'), current_setting('synchronous_commit'), current_setting('fsync'),
                       current_setting('max_connections'), current_setting('wal_level'),
                       (select count(*) from pg_stat_activity where backend_type = 'client backend')
                """, connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            lines.Add($"PostgreSQL: {reader.GetString(0).Split(" on ")[0]} (shared_buffers {reader.GetString(1)}, synchronous_commit {reader.GetString(2)}, " +
                      $"fsync {reader.GetString(3)}, max_connections {reader.GetString(4)}, wal_level {reader.GetString(5)}; " +
                      $"{reader.GetInt64(6)} client sessions open at start)");
        }
        catch (NpgsqlException ex)
        {
            lines.Add($"PostgreSQL: unknown ({ex.Message})");
        }

        lines.Add($"Valkey/Redis: {await RedisVersionAsync(environment.Valkey, cancellationToken)}");
        lines.Add($"load average at start: {Read("/proc/loadavg")}");
        return lines;
    }

    public static string LoadAverage() => string.Join(' ', Read("/proc/loadavg").Split(' ').Take(3));

    private static string CpuModel() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";

    private static double MemTotalGiB()
    {
        var line = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
        var kib = long.Parse(new string(line.Where(char.IsAsciiDigit).ToArray()), CultureInfo.InvariantCulture);
        return kib / 1024.0 / 1024.0;
    }

    private static string Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    /// <summary>INFO server over RESP: "valkey_version" when it is Valkey, else "redis_version".</summary>
    private static async Task<string> RedisVersionAsync(string endpoint, CancellationToken cancellationToken)
    {
        try
        {
            var parts = endpoint.Split(',');
            var hostPort = parts[0];
            var password = parts.Skip(1).Select(p => p.Trim()).FirstOrDefault(p => p.StartsWith("password=", StringComparison.Ordinal))?["password=".Length..];
            var colon = hostPort.LastIndexOf(':');
            using var client = new TcpClient();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await client.ConnectAsync(hostPort[..colon], int.Parse(hostPort[(colon + 1)..], CultureInfo.InvariantCulture), timeout.Token);
            var stream = client.GetStream();
            if (password is not null)
            {
                var secret = Encoding.UTF8.GetBytes(password);
                await stream.WriteAsync(Encoding.ASCII.GetBytes($"*2\r\n$4\r\nAUTH\r\n${secret.Length}\r\n"), timeout.Token);
                await stream.WriteAsync(secret, timeout.Token);
                await stream.WriteAsync("\r\n"u8.ToArray(), timeout.Token);
            }

            await stream.WriteAsync("*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n"u8.ToArray(), timeout.Token);
            var buffer = new byte[16384];
            var text = new StringBuilder();
            while (!text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && text.Length < 16000)
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
                if (text.ToString().Contains("executable:", StringComparison.Ordinal))
                {
                    break;
                }
            }

            var fields = text.ToString().Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
            return fields.TryGetValue("valkey_version", out var valkey) ? $"Valkey {valkey}"
                : fields.TryGetValue("redis_version", out var redis) ? $"Redis {redis}"
                : "unknown";
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or FormatException)
        {
            return $"unknown ({ex.Message})";
        }
    }
}
