using System.Globalization;

namespace JobTrail.Benchmarks.Infra;

/// <summary>Reads /proc: a process's resident memory, and CPU time per process over a window.</summary>
internal static class ProcStats
{
    /// <summary>Clock ticks per second of /proc/*/stat and /proc/stat (USER_HZ; 100 on Linux).</summary>
    private const double TicksPerSecond = 100.0;

    /// <summary>VmRSS of <paramref name="pid"/> in MiB, or null when the process is gone.</summary>
    public static double? RssMiB(int pid) => StatusKiB(pid, "VmRSS:") / 1024.0;

    /// <summary>VmHWM (peak resident set since start) of <paramref name="pid"/> in MiB.</summary>
    public static double? PeakRssMiB(int pid) => StatusKiB(pid, "VmHWM:") / 1024.0;

    /// <summary>Threads of <paramref name="pid"/> (the Threads line of /proc/pid/status).</summary>
    public static int? Threads(int pid) => (int?)StatusKiB(pid, "Threads:");

    /// <summary>Open file descriptors of <paramref name="pid"/> (entries of /proc/pid/fd), null when unreadable.</summary>
    public static int? OpenFiles(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The soft "Max open files" limit of <paramref name="pid"/> from /proc/pid/limits.</summary>
    public static string OpenFilesLimit(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
            return line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3] ?? "?";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "?";
        }
    }

    private static long? StatusKiB(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    var digits = new string(line.AsSpan(field.Length).ToArray().Where(char.IsAsciiDigit).ToArray());
                    return long.Parse(digits, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }

    public static CpuSnapshot Snapshot()
    {
        var processes = new Dictionary<int, (string Comm, long Ticks)>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            try
            {
                var stat = File.ReadAllText(Path.Combine(directory, "stat"));
                // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: split at the last ')'.
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                var comm = stat[(open + 1)..close];
                var fields = stat[(close + 2)..].Split(' ');
                // After comm: state(0) ppid(1) ... utime(11) stime(12).
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                processes[pid] = (comm, ticks);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
            {
                // The process ended while being read.
            }
        }

        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries)
            .Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var idle = cpu[3] + (cpu.Length > 4 ? cpu[4] : 0);
        // The 8th field is time the hypervisor ran something else while this machine had work (kernel steal-time
        // accounting): counted as busy, as it is not idle, and reported on its own because it is not ours.
        var steal = cpu.Length > 7 ? cpu[7] : 0;
        return new CpuSnapshot(DateTime.UtcNow, processes, cpu.Take(8).Sum(), idle, steal);
    }

    /// <summary>
    /// CPU used between two snapshots, in percent of one core (200% = both cores of a 2-core machine),
    /// grouped by a label per process.
    /// </summary>
    public static CpuUsage Between(CpuSnapshot start, CpuSnapshot end, Func<int, string, string> label)
    {
        var seconds = Math.Max(0.001, (end.At - start.At).TotalSeconds);
        var groups = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var (pid, (comm, ticks)) in end.Processes)
        {
            var before = start.Processes.TryGetValue(pid, out var s) && s.Comm == comm ? s.Ticks : 0;
            var delta = ticks - before;
            if (delta <= 0)
            {
                continue;
            }

            var key = label(pid, comm);
            groups[key] = groups.GetValueOrDefault(key) + (delta / TicksPerSecond / seconds * 100.0);
        }

        var total = end.TotalTicks - start.TotalTicks;
        var busy = total <= 0 ? 0 : (1.0 - ((double)(end.IdleTicks - start.IdleTicks) / total)) * 100.0 * Environment.ProcessorCount;
        var stolen = total <= 0 ? 0 : (double)(end.StealTicks - start.StealTicks) / total * 100.0 * Environment.ProcessorCount;
        return new CpuUsage(busy, groups.OrderByDescending(g => g.Value).ToList()) { StolenPercent = stolen };
    }
}

internal sealed record CpuSnapshot(DateTime At, Dictionary<int, (string Comm, long Ticks)> Processes, long TotalTicks, long IdleTicks, long StealTicks);

/// <summary><see cref="MachineBusyPercent"/> and <see cref="ByLabel"/> are in percent of one core.</summary>
internal sealed record CpuUsage(double MachineBusyPercent, IReadOnlyList<KeyValuePair<string, double>> ByLabel)
{
    /// <summary>
    /// Of <see cref="MachineBusyPercent"/>, the time the host gave this machine's vCPUs to something else: a run with
    /// much of it ran on a slower machine than its neighbours, whatever its own processes did.
    /// </summary>
    public double StolenPercent { get; init; }

    public double Of(string label) => ByLabel.FirstOrDefault(kv => kv.Key == label).Value;

    public string Describe(int top = 6) =>
        $"machine busy {MachineBusyPercent:0}% of {Environment.ProcessorCount * 100}% (stolen by the host {StolenPercent:0}%); " +
        string.Join(", ", ByLabel.Where(kv => kv.Value >= 1).Take(top).Select(kv => $"{kv.Key} {kv.Value:0}%"));
}
