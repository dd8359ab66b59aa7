using System.Text.Json;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Paging;

namespace JobTrail.BuildingBlocks.Tests;

public sealed class CursorAndProblemTests
{
    private sealed record Position(long Seq);

    [Fact]
    public void A_cursor_round_trips_and_a_foreign_one_is_refused()
    {
        var cursor = Cursor.Encode(new Position(42));

        Assert.True(Cursor.TryDecode<Position>(cursor, out var position));
        Assert.Equal(42, position.Seq);
        Assert.False(Cursor.TryDecode<Position>("not base64!", out _));
        Assert.False(Cursor.TryDecode<Position>(Cursor.Encode(new { other = 1 }), out _));
        Assert.Throws<BadRequestException>(() => Cursor.Decode<Position>("%%%"));
    }

    [Theory]
    [InlineData("""{"Seq":1,"Seq":2}""")]
    [InlineData("""{"Seq":-1}""")]
    [InlineData("""{"Seq":-0}""")]
    [InlineData("""{"Seq":-9223372036854775808}""")]
    public void A_cursor_with_a_duplicate_field_or_a_negative_position_is_refused(string json)
    {
        var cursor = System.Buffers.Text.Base64Url.EncodeToString(System.Text.Encoding.UTF8.GetBytes(json));

        Assert.False(Cursor.TryDecode<Position>(cursor, out _));
        Assert.Throws<BadRequestException>(() => Cursor.Decode<Position>(cursor));
    }

    [Fact]
    public void A_page_has_a_cursor_only_when_more_rows_exist()
    {
        var last = JobTrail.BuildingBlocks.Paging.Paging.ToPage([1, 2, 3], 3, i => new Position(i));
        var more = JobTrail.BuildingBlocks.Paging.Paging.ToPage([1, 2, 3, 4], 3, i => new Position(i));

        Assert.Null(last.NextCursor);
        Assert.Equal([1, 2, 3], more.Items);
        Assert.True(Cursor.TryDecode<Position>(more.NextCursor, out var next));
        Assert.Equal(3, next.Seq);
    }

    [Theory]
    [InlineData("Type", "type")]
    [InlineData("Events[0].StepId", "events[0].stepId")]
    public void Field_errors_use_the_json_names(string property, string expected) =>
        Assert.Equal(expected, ProblemExceptionHandler.CamelPath(property));

    [Fact]
    public void Json_errors_never_name_dotnet_types()
    {
        var error = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<Position>("{\"seq\":1,\"x\":2}",
            new JsonSerializerOptions(JsonSerializerDefaults.Web) { UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow }));

        var detail = ProblemExceptionHandler.DescribeJsonError(error);

        Assert.Equal("Unknown property 'x' in the request body.", detail);
        Assert.DoesNotContain("JobTrail", detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Unexpected_errors_become_a_500_that_says_nothing_of_the_internals()
    {
        var problem = ProblemExceptionHandler.Describe(new InvalidOperationException("connection string Password=secret"));
        Assert.Equal(500, problem.Status);
        Assert.DoesNotContain("secret", problem.Detail, StringComparison.Ordinal);
    }
}
