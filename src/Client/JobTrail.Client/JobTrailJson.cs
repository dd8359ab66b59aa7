using System.Text.Json;
using System.Text.Json.Serialization;

namespace JobTrail.Client;

/// <summary>The API's JSON: camelCase, enums as UPPER_SNAKE strings, no nulls sent.</summary>
public static class JobTrailJson
{
    public static JsonSerializerOptions Options { get; } = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false));
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }

    internal static string Enum<TEnum>(TEnum value)
        where TEnum : struct, System.Enum =>
        JsonNamingPolicy.SnakeCaseUpper.ConvertName(value.ToString());
}
