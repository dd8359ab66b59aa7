using System.Text.Json;

namespace JobTrail.Cli;

/// <summary>A failure the user can fix (configuration, arguments): printed as one line, exit code 1.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>
/// Where to reach the API and with which key: each value from its flag, else the environment
/// (JOBTRAIL_URL, JOBTRAIL_API_KEY), else the config file ($JOBTRAIL_CONFIG or ~/.config/jobtrail/config.json).
/// </summary>
internal sealed record CliSettings(Uri Url, string ApiKey)
{
    public const string UrlVariable = "JOBTRAIL_URL";
    public const string ApiKeyVariable = "JOBTRAIL_API_KEY";
    public const string ConfigVariable = "JOBTRAIL_CONFIG";

    public static CliSettings Resolve(string? urlFlag, string? apiKeyFlag)
    {
        var configPath = ConfigPath();
        ConfigFile? file = null;
        ConfigFile Load() => file ??= ConfigFile.Read(configPath);

        var url = NonEmpty(urlFlag) ?? NonEmpty(Environment.GetEnvironmentVariable(UrlVariable)) ?? NonEmpty(Load().Url)
            ?? throw new CliException($"no server URL: pass --url, set {UrlVariable}, or put \"url\" in {configPath}");
        var apiKey = NonEmpty(apiKeyFlag) ?? NonEmpty(Environment.GetEnvironmentVariable(ApiKeyVariable)) ?? NonEmpty(Load().ApiKey)
            ?? throw new CliException($"no API key: pass --api-key, set {ApiKeyVariable}, or put \"apiKey\" in {configPath}");

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new CliException($"the server URL '{url}' is not an absolute http(s) URL");
        }

        return new CliSettings(uri, apiKey);
    }

    public static string ConfigPath()
    {
        var explicitPath = NonEmpty(Environment.GetEnvironmentVariable(ConfigVariable));
        if (explicitPath is not null)
        {
            return explicitPath;
        }

        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return Path.Combine(home, ".config", "jobtrail", "config.json");
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private sealed record ConfigFile(string? Url, string? ApiKey)
    {
        private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
        {
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
        };

        public static ConfigFile Read(string path)
        {
            if (!File.Exists(path))
            {
                return new ConfigFile(null, null);
            }

            try
            {
                return JsonSerializer.Deserialize<ConfigFile>(File.ReadAllText(path), Options) ?? new ConfigFile(null, null);
            }
            catch (JsonException ex)
            {
                throw new CliException($"the config file {path} is not valid JSON ({ex.Message.Split('.')[0]})");
            }
            catch (IOException ex)
            {
                throw new CliException($"cannot read the config file {path}: {ex.Message}");
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new CliException($"cannot read the config file {path}: {ex.Message}");
            }
        }
    }
}
