using System.Text.Json.Nodes;

namespace JobTrail.Modules.Activity.Domain;

/// <summary>Turns what a command or a client says about an activity into the stored, redacted JSON object.</summary>
internal static class ActivityMetadata
{
    /// <summary>Captured strings are cut here: a refused request's oversized field is evidence, not payload.</summary>
    public const int MaxCapturedStringLength = 1024;

    public static string? FromCaptured(IReadOnlyDictionary<string, object?>? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        var json = JsonSerializer.SerializeToNode(metadata, JsonDefaults.Options) as JsonObject ?? [];
        Truncate(json);
        return MetadataRedactor.Redact(json).ToJsonString();
    }

    public static string? FromClient(JsonElement? metadata) =>
        metadata is { ValueKind: JsonValueKind.Object } element && JsonNode.Parse(element.GetRawText()) is JsonObject json
            ? MetadataRedactor.Redact(json).ToJsonString()
            : null;

    private static void Truncate(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj.ToList())
                {
                    if (Cut(value) is { } shorter)
                    {
                        obj[key] = shorter;
                    }
                    else
                    {
                        Truncate(value);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    if (Cut(array[i]) is { } shorter)
                    {
                        array[i] = shorter;
                    }
                    else
                    {
                        Truncate(array[i]);
                    }
                }

                break;
        }
    }

    private static JsonValue? Cut(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.String && value.GetValue<string>() is { Length: > MaxCapturedStringLength } text
            ? JsonValue.Create(text[..MaxCapturedStringLength] + "…")
            : null;
}
