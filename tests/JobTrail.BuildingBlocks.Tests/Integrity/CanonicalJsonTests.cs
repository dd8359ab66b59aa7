using System.Text;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.Testing;

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

    private static byte[] ByDocument(string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json, new System.Text.Json.JsonDocumentOptions { MaxDepth = CanonicalJson.MaxDepth });
        return CanonicalJson.Encode(document.RootElement);
    }

    [Theory]
    [InlineData("""{"b": 1, "aa": 2, "a": {"zz": [1, {"y": 2, "x": 1}], "z": null}}""")]
    [InlineData("""{"\u0062": 1, "a\"b": 2, "a\\b": 3, "a": 4, "a\u0000": 5}""")]
    [InlineData("""{"\ue000": 1, "😀": 2, "\uffff": 3, "\ud83d\ude00x": 4, "z": 5}""")]
    [InlineData("""{"k": "\u00e9\u2028\/\b\f\n\r\t\u0001\u001f", "n": [1E+2, -0.000, 1e-7, 123456789012345678901234567890]}""")]
    [InlineData("""  [ {"b":1,"a":2} , [] , {} , "s" , true , false , null ]  """)]
    [InlineData("\"text\"")]
    [InlineData("-12.5e3")]
    public void Text_read_token_by_token_encodes_as_the_parsed_document(string json)
    {
        // Read token by token, not by the fallback to the document.
        Assert.Equal(ByDocument(json), CanonicalJson.EncodeText(json));
        Assert.Equal(ByDocument(json), CanonicalJson.Encode(json));
    }

    [Fact]
    public void Random_texts_encode_as_the_parsed_document()
    {
        var random = new Random(20261203);
        for (var i = 0; i < 3000; i++)
        {
            var json = RandomJson.Value(random, forceObject: i % 2 == 0);

            Assert.Equal(ByDocument(json), CanonicalJson.EncodeText(json));
        }
    }

    [Fact]
    public void Large_objects_in_any_order_encode_as_the_parsed_document()
    {
        var random = new Random(7);
        var names = Enumerable.Range(0, 3000).Select(i => $"\"n{random.Next(0, 500)}\u00e9{(i % 7 == 0 ? "\\ue001" : "")}\"").ToList();
        var json = "{" + string.Join(", ", names.Select((n, i) => $"{n}: {{\"v\": {i}, \"a\": [{i}]}}")) + "}";

        Assert.Equal(ByDocument(json), CanonicalJson.EncodeText(json));
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"a\": 1} {}")]
    [InlineData("{\"a\": tru}")]
    [InlineData("")]
    [InlineData("{\"a\": \"\\ud800\"}")]
    [InlineData("[1,]")]
    public void Text_that_is_not_one_json_value_fails_as_the_parsed_document_fails(string json)
    {
        var expected = Assert.ThrowsAny<Exception>(() => ByDocument(json));
        var actual = Assert.ThrowsAny<Exception>(() => CanonicalJson.Encode(json));

        Assert.Equal(expected.GetType(), actual.GetType());
    }

    [Theory]
    [InlineData(999)]
    [InlineData(1000)]
    [InlineData(1001)]
    public void At_the_depth_limit_both_encode_or_both_refuse(int levels)
    {
        var json = string.Concat(Enumerable.Repeat("{\"a\":[", levels / 2)) + (levels % 2 == 1 ? "{}" : "1") +
            string.Concat(Enumerable.Repeat("]}", levels / 2));
        byte[]? expected = null;
        Exception? refused = null;
        try
        {
            expected = ByDocument(json);
        }
        catch (Exception ex)
        {
            refused = ex;
        }

        if (refused is null)
        {
            Assert.Equal(expected, CanonicalJson.EncodeText(json));
        }
        else
        {
            Assert.Equal(refused.GetType(), Assert.ThrowsAny<Exception>(() => CanonicalJson.Encode(json)).GetType());
        }
    }

    [Fact]
    public void A_lone_surrogate_in_the_text_fails_as_the_parsed_document_fails()
    {
        var json = "{\"a\": \"x\ud800y\"}";

        var expected = Assert.ThrowsAny<Exception>(() => ByDocument(json));
        var actual = Assert.ThrowsAny<Exception>(() => CanonicalJson.Encode(json));
        Assert.Equal(expected.GetType(), actual.GetType());
    }
}
