using JobTrail.BuildingBlocks.Valkey;

namespace JobTrail.BuildingBlocks.Tests;

public sealed class LiveMessageTests
{
    [Theory]
    [InlineData("""{"seq":1,"sig":"k:x","event":{}}""", 1L)]
    [InlineData("""{"seq":42,"sig":"k:x","tp":"00-a-b-01","event":{"seq":7}}""", 42L)]
    [InlineData("""{"seq":999999999999999999,"sig":"","event":{}}""", 999_999_999_999_999_999L)]
    public void The_seq_is_peeked_from_the_published_prefix(string message, long expected)
    {
        Assert.True(LiveMessage.TryPeekSeq(message, out var seq));
        Assert.Equal(expected, seq);
        // The peek agrees with the full parse wherever the message is in the published shape.
        Assert.Equal(LiveMessage.TryParse(message)?.Seq, seq);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{\"seq\":")]
    [InlineData("{\"seq\":,\"sig\":\"\"}")]
    [InlineData("{\"seq\":12")]
    [InlineData("{\"seq\":12}")]
    [InlineData("{\"seq\":-1,\"sig\":\"\"}")]
    [InlineData("{\"seq\":1.5,\"sig\":\"\"}")]
    [InlineData("{\"seq\":1e3,\"sig\":\"\"}")]
    [InlineData("{ \"seq\":1,\"sig\":\"\"}")]
    [InlineData("{\"sig\":\"\",\"seq\":1}")]
    [InlineData("{\"seq\":\"1\",\"sig\":\"\"}")]
    [InlineData("{\"seq\":١,\"sig\":\"\"}")]
    [InlineData("{\"seq\":9999999999999999999,\"sig\":\"\"}")]
    [InlineData("{\"seq\":99999999999999999999999999,\"sig\":\"\"}")]
    public void Anything_else_is_not_peeked(string message)
    {
        Assert.False(LiveMessage.TryPeekSeq(message, out _));
    }
}
