using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace JobTrail.BuildingBlocks.Json;

/// <summary>
/// The API's JSON rules: camelCase, UPPER_SNAKE enums, no unknown or duplicate properties, depth ≤ 32,
/// strings PostgreSQL can store (<see cref="StorableText"/>).
/// </summary>
public static class JsonDefaults
{
    public const int MaxDepth = 32;

    public static void Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.DictionaryKeyPolicy = null;
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseUpper, allowIntegerValues: false));
        options.Converters.Add(new StorableStringConverter());
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        options.MaxDepth = MaxDepth;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        // ASP.NET Core's encoder for HTTP responses, here for every writer: é, < and > as they are and a quote as \",
        // where the default encoder wrote \u00E9, \u003C and \u0022; control characters and characters outside the
        // Basic Multilingual Plane are still escaped. A live-stream frame is then byte for byte the event as the REST
        // API returns it. JSON from this API is parsed by its readers, never pasted into HTML.
        options.Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping;
    }

    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Apply(options);
        return options;
    }
}
