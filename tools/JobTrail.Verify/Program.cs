using System.Text.Json;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.BuildingBlocks.Json;
using Microsoft.Extensions.Configuration;

// jobtrail-verify: checks JobTrail's hash chains against the database directly.
//   events <workspaceId> <jobId>
//   activity <workspaceId> [--from <seq>] [--to <seq>]
//   key-id
// Connection: --connection, else JobTrail__PostgresOwner, else JobTrail__Postgres. Keys:
// JobTrail__Integrity__Key (+ JobTrail__Integrity__KeyId, JobTrail__Integrity__PreviousKeys__<id>).
// Prints the verification as JSON; exits 0 when the chain holds, 1 when it does not, 2 on misuse.
namespace JobTrail.Verify;

/// <summary>The command line of the auditor's tool (see the comment above).</summary>
internal static class VerifyCommand
{
    private const string Usage = """
        usage: jobtrail-verify events <workspaceId> <jobId> [--connection <npgsql connection string>]
               jobtrail-verify activity <workspaceId> [--from <seq>] [--to <seq>] [--connection <...>]
               jobtrail-verify key-id
        environment: JobTrail__Integrity__Key (base64; JobTrail__Integrity__PreviousKeys__<id> for rotated keys),
                     JobTrail__PostgresOwner or JobTrail__Postgres (unless --connection is given)
        """;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            var positional = new List<string>();
            var options = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    options[args[i][2..]] = i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value.");
                }
                else
                {
                    positional.Add(args[i]);
                }
            }

            var configuration = new ConfigurationBuilder().AddEnvironmentVariables().Build();
            var keys = IntegrityKeyRing.From(configuration, allowGenerated: false);
            if (positional is ["key-id"])
            {
                Console.WriteLine(keys.Current.Id);
                return 0;
            }

            var connection = options.GetValueOrDefault("connection")
                ?? NonEmpty(configuration["JobTrail:PostgresOwner"])
                ?? NonEmpty(configuration["JobTrail:Postgres"])
                ?? throw new ArgumentException("No database: pass --connection or set JobTrail__PostgresOwner.");
            var audit = new ChainAudit(connection, keys);
            ChainVerification? result = positional switch
            {
                ["events", var workspace, var job] => await audit.VerifyEventsAsync(ParseId(workspace), ParseId(job))
                    ?? throw new ArgumentException($"Runner job {job} has no events in workspace {workspace}."),
                ["activity", var workspace] => await audit.VerifyActivityAsync(ParseId(workspace), ParseSeq(options, "from"), ParseSeq(options, "to")),
                _ => throw new ArgumentException("Unknown command."),
            };
            Console.WriteLine(JsonSerializer.Serialize(result, JsonDefaults.Options));
            return result.Valid ? 0 : 1;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or FormatException or Npgsql.NpgsqlException)
        {
            Console.Error.WriteLine($"jobtrail-verify: {ex.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static Guid ParseId(string text) =>
        Guid.TryParse(text, out var id) ? id : throw new ArgumentException($"'{text}' is not a UUID.");

    private static long? ParseSeq(Dictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var text)
            ? long.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seq) && seq >= 1
                ? seq
                : throw new ArgumentException($"--{name} must be a seq (1 or more).")
            : null;
}
