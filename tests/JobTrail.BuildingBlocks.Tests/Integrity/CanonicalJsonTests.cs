using System.Text;
using JobTrail.BuildingBlocks.Integrity;

namespace JobTrail.BuildingBlocks.Tests.Integrity;

public sealed class CanonicalJsonTests
{
    [Theory]
    [InlineData("""{"b":1,"a":[true,false,null],"c":{"y":"x","x":"y"}}""", """{"a":[true,false,null],"b":1,"c":{"x":"y","y":"x"}}""")]
    [InlineData("""{ "b" : 1 ,  "a" : "x" }""", """{"a":"x","b":1}""")]
    [InlineData("""{"B": 1, "a": 2, "_": 3, "aa": 4}""", """{"B":1,"_":3,"a":2,"aa":4}""")]
    [InlineData("""{"k": 1.50, "n": -0, "e": 100}""", """{"e":100,"k":1.50,"n":-0}""")]
    [InlineData("[]", "[]")]
    [InlineData("{}", "{}")]
    public void Objects_are_sorted_by_name_and_whitespace_is_dropped(string json, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(CanonicalJson.Encode(json)!));
    }

    [Fact]
    public void Strings_escape_only_what_json_requires_and_keep_everything_else_literal()
    {
        var encoded = Encoding.UTF8.GetString(CanonicalJson.Encode("""{"s":"quote \" back \\ tab \t nl \n bell \u0007 é \u00e9 😀 \u2028 <>&'"}""")!);

        Assert.Equal("{\"s\":\"quote \\\" back \\\\ tab \\t nl \\n bell \\u0007 é é 😀 \u2028 <>&'\"}", encoded);
    }

    [Fact]
    public void The_same_value_written_two_ways_has_one_encoding()
    {
        var a = CanonicalJson.Encode("""{"name":"caf\u00e9","list":[1,2,{"z":1,"a":2}]}""");
        var b = CanonicalJson.Encode("""{"list":[1, 2, {"a": 2, "z": 1}], "name": "café"}""");

        Assert.Equal(a, b);
    }

    [Fact]
    public void Long_strings_full_of_escapes_and_wide_characters_are_encoded_whole()
    {
        // Longer than any scratch buffer, every character escaped or several UTF-8 bytes wide.
        var value = string.Concat(Enumerable.Repeat("\u0001\"\\é😀\n", 400));
        var json = System.Text.Json.JsonSerializer.Serialize(new { s = value });
        var expected = "{\"s\":\"" + string.Concat(Enumerable.Repeat("\\u0001\\\"\\\\é😀\\n", 400)) + "\"}";

        Assert.Equal(expected, Encoding.UTF8.GetString(CanonicalJson.Encode(json)!));
    }

    [Fact]
    public void Properties_of_one_name_keep_their_order_and_numbers_their_text()
    {
        // Only JSON that did not come from jsonb can repeat a name; the encoding is still one and the same.
        var encoded = Encoding.UTF8.GetString(CanonicalJson.Encode("""{"b":2,"a":1E+2,"b":1,"a":-0.000,"c":[1e-7]}""")!);

        Assert.Equal("""{"a":1E+2,"a":-0.000,"b":2,"b":1,"c":[1e-7]}""", encoded);
    }

    [Fact]
    public void Objects_with_many_keys_given_in_reverse_are_sorted_and_keep_repeated_names_in_order()
    {
        // Past the small-object path: 2,000 names from "k1999" down to "k0000", each twice with its place as value.
        var members = Enumerable.Range(0, 2_000).Reverse().SelectMany(i => new[] { $"\"k{i:D4}\":{i}", $"\"k{i:D4}\":-{i}" });
        var expected = "{" + string.Join(',', Enumerable.Range(0, 2_000).SelectMany(i => new[] { $"\"k{i:D4}\":{i}", $"\"k{i:D4}\":-{i}" })) + "}";

        Assert.Equal(expected, Encoding.UTF8.GetString(CanonicalJson.Encode("{" + string.Join(',', members) + "}")!));
    }

    [Fact]
    public void Null_stays_null()
    {
        Assert.Null(CanonicalJson.Encode((string?)null));
        Assert.Equal("null"u8.ToArray(), CanonicalJson.Encode("null"));
    }
}
