using System.Buffers.Text;
using System.Text.Json;
using FluentValidation;

namespace JobTrail.BuildingBlocks.Paging;

/// <summary>Every list answers this shape; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor);

public static class Paging
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    /// <summary>
    /// Builds a page from up to <c>limit + 1</c> rows: the extra row only proves there is more.
    /// </summary>
    public static Page<T> ToPage<T, TCursor>(IReadOnlyList<T> rows, int limit, Func<T, TCursor> cursorOf)
    {
        if (rows.Count <= limit)
        {
            return new Page<T>(rows, null);
        }

        var items = rows.Take(limit).ToList();
        return new Page<T>(items, Cursor.Encode(cursorOf(items[^1])));
    }

    public static IRuleBuilderOptions<T, int?> ValidLimit<T>(this IRuleBuilder<T, int?> rule) =>
        rule.InclusiveBetween(1, MaxLimit).WithMessage($"'limit' must be between 1 and {MaxLimit}.");

    /// <summary>A time range's end, later than its start when both are given.</summary>
    public static IRuleBuilderOptions<T, DateTimeOffset?> LaterThanFrom<T>(this IRuleBuilder<T, DateTimeOffset?> rule, Func<T, DateTimeOffset?> from) =>
        rule.Must((request, to) => to is null || from(request) is not { } start || to > start).WithMessage("'to' must be later than 'from'.");

    public static IRuleBuilderOptions<T, string?> ValidCursor<T, TCursor>(this IRuleBuilder<T, string?> rule) =>
        rule.Must(c => c is null || Cursor.TryDecode<TCursor>(c, out _)).WithMessage("'cursor' is not a cursor this list issued.");
}

/// <summary>
/// Opaque keyset cursors: base64url of a small JSON position record. Decoding refuses anything this
/// service would not have issued: unknown or duplicate fields, a missing one, a negative number.
/// </summary>
public static class Cursor
{
    public static string Encode<TCursor>(TCursor position) =>
        Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(position));

    public static bool TryDecode<TCursor>(string? text, out TCursor position)
    {
        position = default!;
        if (string.IsNullOrEmpty(text) || text.Length > 512)
        {
            return false;
        }

        try
        {
            var bytes = Base64Url.DecodeFromChars(text);
            if (HasNegativeNumber(bytes))
            {
                return false;
            }

            var value = JsonSerializer.Deserialize<TCursor>(bytes, StrictJson);
            if (value is null)
            {
                return false;
            }

            position = value;
            return true;
        }
        catch (Exception ex) when (ex is FormatException or JsonException or NotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Positions are ids, sequence numbers and ordinals: none is ever negative.</summary>
    private static bool HasNegativeNumber(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json);
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.Number && reader.ValueSpan[0] == (byte)'-')
            {
                return true;
            }
        }

        return false;
    }

    public static TCursor Decode<TCursor>(string text) =>
        TryDecode<TCursor>(text, out var position)
            ? position
            : throw new Errors.BadRequestException("'cursor' is not a cursor this list issued.", "invalid_cursor");

    private static readonly JsonSerializerOptions StrictJson = new()
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        RespectRequiredConstructorParameters = true,
        RespectNullableAnnotations = true,
        // A cursor this service issued names each field once; {"Seq":1,"Seq":-5} was made by hand.
        AllowDuplicateProperties = false,
    };
}
