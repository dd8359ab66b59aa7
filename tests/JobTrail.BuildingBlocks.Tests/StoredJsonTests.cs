using System.Text;
using System.Text.Json;
using JobTrail.BuildingBlocks.Json;

namespace JobTrail.BuildingBlocks.Tests;

public sealed class StoredJsonTests
{
    /// <summary>Each JSON as sent, and the text PostgreSQL 15 printed for it as jsonb (select '…'::jsonb).</summary>
    [Theory]
    [InlineData("""{"b":[1.5,-3,1e10,12345678901234567890,true,false,null],"a":{}, "c":[]}""",
        """{"a": {}, "b": [1.5, -3, 10000000000, 12345678901234567890, true, false, null], "c": []}""")]
    [InlineData("""{"s":"é\n\"\u0001/\\ \t😀 \u00e9 """ + "\u007f\"}", """{"s": "é\n\"\u0001/\\ \t😀 é """ + "\u007f\"}")]
    [InlineData("""{"n":[1.50e1, 100e-2, -0, -0.0, 0.0e-3, 1E+2, -1e-3, 0.00100, 10e-1]}""",
        """{"n": [15.0, 1.00, 0, 0.0, 0.0000, 100, -0.001, 0.00100, 1.0]}""")]
    [InlineData("""{"é key":1}""", """{"é key": 1}""")]
    [InlineData("""{"a":0e999999999}""", """{"a": 0}""")]
    [InlineData("""{"a":1e0000000000000000000001}""", """{"a": 10}""")]
    [InlineData("""{"a":-0e-5}""", """{"a": 0.00000}""")]
    public void The_size_is_the_length_of_the_text_jsonb_prints(string sent, string printed)
    {
        var report = StoredJson.Inspect(JsonDocument.Parse(sent).RootElement);

        Assert.Empty(report.Faults);
        Assert.Equal(Encoding.UTF8.GetByteCount(printed), report.Size);
    }

    /// <summary>Each JSON as sent, and the text PostgreSQL 15 printed for it as jsonb (select '…'::jsonb).</summary>
    [Theory]
    [InlineData("""{"b":[1.5,-3,1e10,12345678901234567890,true,false,null],"a":{}, "c":[]}""",
        """{"a": {}, "b": [1.5, -3, 10000000000, 12345678901234567890, true, false, null], "c": []}""")]
    [InlineData("""{"s":"é\n\"\u0001/\\ \t😀 \u00e9 """ + "\u007f\"}", """{"s": "é\n\"\u0001/\\ \t😀 é """ + "\u007f\"}")]
    [InlineData("""{"n":[1.50e1, 100e-2, -0, -0.0, 0.0e-3, 1E+2, -1e-3, 0.00100, 10e-1]}""",
        """{"n": [15.0, 1.00, 0, 0.0, 0.0000, 100, -0.001, 0.00100, 1.0]}""")]
    [InlineData("""{"a":0e999999999}""", """{"a": 0}""")]
    [InlineData("""{"a":1e0000000000000000000001}""", """{"a": 10}""")]
    [InlineData("""{"a":-0e-5}""", """{"a": 0.00000}""")]
    [InlineData("""{"bb":1,"a":2,"ccc":3,"ab":4,"é":5,"zz":6,"":7}""", """{"": 7, "a": 2, "ab": 4, "bb": 1, "zz": 6, "é": 5, "ccc": 3}""")]
    [InlineData("""{"a":1,"a":2,"b":{"c":1,"c":[3]}}""", """{"a": 2, "b": {"c": [3]}}""")]
    [InlineData("""{"x":[1, {"b":1,"a":[]}, "x"]}""", """{"x": [1, {"a": [], "b": 1}, "x"]}""")]
    [InlineData("""{"k":"\u001f\b"}""", """{"k": "\u001f\b"}""")]
    [InlineData("""{"a":-0.000, "b":123.4500e2, "c":0.5e1, "d":5e-1, "e":-12e-4}""", """{"a": 0.000, "b": 12345.00, "c": 5, "d": 0.5, "e": -0.0012}""")]
    [InlineData("""{"😀":1,"é":2,"ab":3}""", """{"ab": 3, "é": 2, "😀": 1}""")]
    public void Print_gives_the_text_jsonb_prints(string sent, string printed)
    {
        var element = JsonDocument.Parse(sent).RootElement;

        Assert.Equal(printed, StoredJson.Print(element));
    }

    [Fact]
    public void Print_writes_numbers_out_in_full()
    {
        // PostgreSQL 15: select '{"e":1e-400,"f":5e2,"g":0.0012e3}'::jsonb
        var element = JsonDocument.Parse("""{"e":1e-400,"f":5e2,"g":0.0012e3}""").RootElement;

        Assert.Equal("{\"e\": 0." + new string('0', 399) + "1, \"f\": 500, \"g\": 1.2}", StoredJson.Print(element));
    }

    [Theory]
    [InlineData("1e300", 301)]
    [InlineData("1e308", 309)]
    [InlineData("1.7976931348623157e308", 309)]
    [InlineData("-1.7976931348623157e308", 310)]
    [InlineData("1.7976931348623158e308", 309)]
    [InlineData("1e-5", 7)]
    [InlineData("1e-400", 402)]
    [InlineData("5e-324", 326)]
    [InlineData("1e-16383", 16385)]
    public void Numbers_are_measured_written_out_in_full(string number, long digits)
    {
        // {"a": N} is 7 bytes around the number.
        var report = StoredJson.Inspect(JsonDocument.Parse($$"""{"a":{{number}}}""").RootElement);

        Assert.Empty(report.Faults);
        Assert.Equal(7 + digits, report.Size);
    }

    [Theory]
    [InlineData("""{"a":1e999}""", ".a", StoredJson.NotADouble)]
    [InlineData("""{"a":-1e999}""", ".a", StoredJson.NotADouble)]
    [InlineData("""{"a":1e131072}""", ".a", StoredJson.NotADouble)]
    [InlineData("""{"a":1.7976931348623159e308}""", ".a", StoredJson.NotADouble)]
    [InlineData("""{"x":[1,{"y z":-1e400}]}""", ".x[1]['y z']", StoredJson.NotADouble)]
    [InlineData("""{"it's":[1e999]}""", @"['it\'s'][0]", StoredJson.NotADouble)]
    [InlineData("""{"a":0e1000000000}""", ".a", "exponent beyond")]
    [InlineData("""{"a":1e-16384}""", ".a", "at most 16383 can be stored")]
    [InlineData("""{"a":{"b":"x\u0000"}}""", ".a.b", StorableText.Refusal)]
    [InlineData("""{"a":["\ud800"]}""", ".a[0]", StorableText.Refusal)]
    [InlineData("""{"a":{"\u0000":1}}""", ".a", "has a property name that contains a NUL")]
    public void A_value_jsonb_cannot_store_is_named_by_its_path(string json, string path, string problem)
    {
        var fault = Assert.Single(StoredJson.Inspect(JsonDocument.Parse(json).RootElement).Faults);

        Assert.Equal(path, fault.Path);
        Assert.Contains(problem, fault.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_a_string_or_a_key_is_named_by_its_path()
    {
        // 0xC3 0x28: a two-byte sequence whose second byte is not a continuation byte.
        byte[] value = [.. "{\"a\":[\"ok\",\"x"u8, 0xC3, 0x28, .. "\"]}"u8];
        byte[] key = [.. "{\"a\":{\"k"u8, 0xC3, 0x28, .. "\":1}}"u8];

        var inValue = Assert.Single(StoredJson.Inspect(JsonDocument.Parse(value).RootElement).Faults);
        var inKey = Assert.Single(StoredJson.Inspect(JsonDocument.Parse(key).RootElement).Faults);

        Assert.Equal((".a[1]", "is not valid UTF-8"), (inValue.Path, inValue.Problem));
        Assert.Equal((".a", "has a property name that is not valid UTF-8"), (inKey.Path, inKey.Problem));
    }

    [Fact]
    public void Every_bad_value_is_reported_up_to_ten()
    {
        var json = "{\"a\":[" + string.Join(',', Enumerable.Repeat("1e999", 50)) + "]}";

        var faults = StoredJson.Inspect(JsonDocument.Parse(json).RootElement).Faults;

        Assert.Equal(StoredJson.MaxFaults, faults.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $".a[{i}]"), faults.Select(f => f.Path));
    }
}
