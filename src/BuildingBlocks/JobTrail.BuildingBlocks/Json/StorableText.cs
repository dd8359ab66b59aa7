using System.Text.Json;
using System.Text.Json.Serialization;

namespace JobTrail.BuildingBlocks.Json;

/// <summary>
/// Text PostgreSQL can store: no NUL character (<c>text</c> and <c>jsonb</c> refuse it) and no
/// unpaired UTF-16 surrogate (no UTF-8 encoding exists for one). JSON can smuggle both in as
/// <c>\u0000</c> and <c>\ud800</c>; refused at the edge, they are a 400, not a database error.
/// </summary>
public static class StorableText
{
    public const string Refusal = "contains a NUL character or an unpaired surrogate, which cannot be stored";

    public const string NotUtf8 = "The request body is not valid UTF-8.";

    public static bool IsStorable(string? text)
    {
        if (text is null)
        {
            return true;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Every key and string value of the JSON is storable.</summary>
    public static bool IsStorable(JsonElement element)
    {
        try
        {
            return Check(element);
        }
        catch (InvalidOperationException)
        {
            // Reading an escaped unpaired surrogate (\ud800) as a string throws.
            return false;
        }
    }

    private static bool Check(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().All(p => IsStorable(p.Name) && Check(p.Value)),
        JsonValueKind.Array => element.EnumerateArray().All(Check),
        JsonValueKind.String => IsStorable(element.GetString()),
        _ => true,
    };
}

/// <summary>Reads every string of a request body through <see cref="StorableText"/>.</summary>
public sealed class StorableStringConverter : JsonConverter<string>
{
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            // Without a message the serializer writes its own, with the path: "could not be converted".
            throw new JsonException();
        }

        string? text;
        try
        {
            text = reader.GetString();
        }
        catch (InvalidOperationException ex)
        {
            throw new JsonException(ex.Message.Contains("UTF-8", StringComparison.Ordinal) ? StorableText.NotUtf8 : StorableText.Refusal, ex);
        }

        return StorableText.IsStorable(text) ? text : throw new JsonException(StorableText.Refusal);
    }

    public override void Write(Utf8JsonWriter writer, string value, JsonSerializerOptions options) => writer.WriteStringValue(value);
}
