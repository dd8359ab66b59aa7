using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Persistence;

namespace JobTrail.BuildingBlocks.Tests;

public sealed class EnumTextTests
{
    private enum Sample
    {
        Command,
        AiAction,
    }

    [Fact]
    public void Values_are_spelled_upper_snake_and_listed_in_declaration_order()
    {
        Assert.Equal("AI_ACTION", EnumText.Spell(Sample.AiAction));
        Assert.Equal("COMMAND, AI_ACTION", EnumText.AllSpelled<Sample>());
    }

    [Theory]
    [InlineData("AI_ACTION", true)]
    [InlineData("ai_action", false)]
    [InlineData("AiAction", false)]
    [InlineData("1", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Only_the_exact_spelling_parses(string? text, bool parses)
    {
        Assert.Equal(parses, EnumText.TryParse<Sample>(text, out var value));
        Assert.Equal(parses ? Sample.AiAction : default, value);
    }

    [Fact]
    public void The_database_converter_stores_and_reads_the_same_spelling()
    {
        var converter = new UpperSnakeCaseEnumConverter<Sample>();

        Assert.Equal("AI_ACTION", converter.ConvertToProvider(Sample.AiAction));
        Assert.Equal(Sample.AiAction, converter.ConvertFromProvider("AI_ACTION"));
        Assert.Throws<FormatException>(() => converter.ConvertFromProvider("ai_action"));
    }
}
