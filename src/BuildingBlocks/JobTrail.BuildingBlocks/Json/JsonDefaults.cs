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
    }

    public static readonly JsonSerializerOptions Options = Create();

    private static JsonSerializerOptions Create()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);
        Apply(options);
        return options;
    }
}
