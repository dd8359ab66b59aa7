using System.Text.Json;
using JobTrail.BuildingBlocks.Json;

namespace JobTrail.BuildingBlocks.Tests;

public sealed class StorableTextTests
{
    [Fact]
    public void Text_is_storable_without_nul_and_with_every_surrogate_paired()
    {
        // Built from chars: theory data would turn lone surrogates into U+FFFD on the way.
        Assert.True(StorableText.IsStorable("plain"));
        Assert.True(StorableText.IsStorable("é 😀 \u2028 \t\n"));
        Assert.True(StorableText.IsStorable(string.Empty));
        Assert.False(StorableText.IsStorable("a\0b"));
        Assert.False(StorableText.IsStorable(new string((char)0xD800, 1)));
        Assert.False(StorableText.IsStorable("x" + (char)0xDC00));
        Assert.False(StorableText.IsStorable("😀" + (char)0xD83D));
    }

    [Theory]
    [InlineData("""{"a":[1,{"b":"ok"}]}""", true)]
    [InlineData("""{"a":[1,{"b":"\u0000"}]}""", false)]
    [InlineData("""{"a\u0000":1}""", false)]
    [InlineData("""{"a":"\ud800"}""", false)]
    public void Json_is_storable_when_every_key_and_string_is(string json, bool storable)
    {
        Assert.Equal(storable, StorableText.IsStorable(JsonDocument.Parse(json).RootElement));
    }

    private sealed record Body(string? Name);

    [Fact]
    public void The_api_serializer_refuses_unstorable_strings_in_bodies()
    {
        Assert.Equal("ok", JsonSerializer.Deserialize<Body>("""{"name":"ok"}""", JsonDefaults.Options)!.Name);
        var nul = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Body>("""{"name":"a\u0000"}""", JsonDefaults.Options));
        Assert.StartsWith(StorableText.Refusal, nul.Message, StringComparison.Ordinal);
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Body>("""{"name":"\udfff"}""", JsonDefaults.Options));
        var number = Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<Body>("""{"name":5}""", JsonDefaults.Options));
        Assert.StartsWith("The JSON value could not be converted", number.Message, StringComparison.Ordinal);
        Assert.Equal("$.name", number.Path);
    }
}
