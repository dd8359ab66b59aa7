using JobTrail.BuildingBlocks.Errors;

namespace JobTrail.BuildingBlocks.Tests;

public sealed class StateMachineTests
{
    private enum Light
    {
        Off,
        On,
        Broken,
    }

    private static readonly StateMachine<Light> Lamp = new("lamp", "lamp_broken", new Dictionary<Light, Light[]>
    {
        [Light.Off] = [Light.On, Light.Broken],
        [Light.On] = [Light.Off, Light.Broken],
        [Light.Broken] = [],
    });

    [Fact]
    public void A_refused_move_names_the_thing_and_its_allowed_moves()
    {
        var error = Assert.Throws<ConflictException>(() => Lamp.EnsureAllowed(Light.Off, Light.Off));

        Assert.Equal(("invalid_transition", "A OFF lamp cannot become OFF; it may become ON or BROKEN."), (error.Code, error.Message));
    }

    [Fact]
    public void A_status_without_moves_is_terminal_and_refused_with_the_terminal_code()
    {
        Assert.True(Lamp.IsTerminal(Light.Broken));
        var error = Assert.Throws<ConflictException>(() => Lamp.EnsureAllowed(Light.Broken, Light.On));

        Assert.Equal(("lamp_broken", "The lamp is BROKEN, which is final; it cannot become ON."), (error.Code, error.Message));
    }

    [Fact]
    public void Rules_that_leave_a_status_out_are_refused_when_built()
    {
        var error = Assert.Throws<ArgumentException>(() => new StateMachine<Light>("lamp", "lamp_broken", new Dictionary<Light, Light[]>
        {
            [Light.Off] = [Light.On],
            [Light.On] = [Light.Off],
        }));

        Assert.Contains("BROKEN", error.Message, StringComparison.Ordinal);
    }
}
