using System.Text.Json;
using JobTrail.BuildingBlocks.Integrity;
using JobTrail.BuildingBlocks.Json;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Testing;

namespace JobTrail.Modules.JobEvents.Tests;

/// <summary>
/// The event's JSON is written by hand for the hot path; what the API answers for the same event (the response record
/// serialised with the API's options) is the reference, byte for byte, for every shape of payload jsonb can give back.
/// </summary>
public sealed class JobEventJsonTests
{
    private static readonly DateTime T0 = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    private static EventRecord Event(string? payload, Guid? stepId = null, string type = "step.output", DateTime? at = null) => new(
        Guid.CreateVersion7(), Guid.CreateVersion7(), Guid.CreateVersion7(), 42, type, stepId, payload, "runner:7", "corr-1",
        at ?? T0.AddTicks(1234567), (at ?? T0).AddMilliseconds(3));

    private static string Reference(EventRecord e) => JsonSerializer.Serialize(JobEventResponse.From(e), JsonDefaults.Options);

    public static TheoryData<string?> Payloads => new()
    {
        null,
        "{}",
        "[]",
        "null",
        "{\"a\": null, \"b\": true, \"c\": false}",
        """{"text": "<b>é</b> & 'x' \"q\" \\ /", "n": 1.50}""",
        """{"esc": "\u00e9\u2028\u0000\u001f\t\n", "emoji": "😀", "escaped": "\ud83d\ude00"}""",
        """{"key with \"quotes\" and é": "v", "\u003c": 1}""",
        """{"big": 123456789012345678901234567890, "neg": -0, "exp": 1e400, "small": 1.0E-7, "frac": 0.000}""",
        """{"nested": {"list": [1, [2, [3, {"deep": [true, null, "s"]}]], {}], "empty": []}}""",
        """{"long": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}""",
        "  {\"padded\": 1}  ",
        "\"just a string\"",
        "12.5",
    };

    [Theory]
    [MemberData(nameof(Payloads))]
    public void An_events_json_is_what_the_api_answers_for_it(string? payload)
    {
        var e = Event(payload);

        // Written by hand, not by the fallback to the serialiser.
        Assert.Equal(Reference(e), JobEventJson.TryRender(e));
        Assert.Equal(Reference(e), JobEventResponse.Render(e));
    }

    [Fact]
    public void Steps_times_and_types_are_written_as_the_serialiser_writes_them()
    {
        var events = new[]
        {
            Event("{}", stepId: Guid.CreateVersion7()),
            Event("{}", type: "ai.tool_call"),
            Event("{}", at: new DateTime(2026, 6, 30, 23, 59, 59, 999, DateTimeKind.Utc).AddTicks(9)),
            Event("{}", at: new DateTime(2026, 6, 30, 0, 0, 0, DateTimeKind.Unspecified)),
            Event("{}", at: DateTime.MinValue),
        };

        Assert.All(events, e => Assert.Equal(Reference(e), JobEventJson.TryRender(e)));
    }

    [Fact]
    public void Random_payloads_render_as_the_api_answers_them()
    {
        var random = new Random(20261203);
        for (var i = 0; i < 2000; i++)
        {
            var payload = RandomJson.Value(random, forceObject: true);
            var e = Event(payload);

            Assert.Equal(Reference(e), JobEventJson.TryRender(e));
        }
    }

    [Fact]
    public void A_payload_deeper_than_the_api_writes_fails_as_the_api_fails()
    {
        var fits = Nested(30);
        var tooDeep = Nested(40);

        var fitting = Event(fits);
        Assert.Equal(Reference(fitting), JobEventResponse.Render(fitting));
        var expected = Assert.ThrowsAny<Exception>(() => Reference(Event(tooDeep)));
        var actual = Assert.ThrowsAny<Exception>(() => JobEventResponse.Render(Event(tooDeep)));
        Assert.Equal(expected.GetType(), actual.GetType());

        // The failure leaves nothing behind for the thread's next event.
        Assert.Equal(Reference(fitting), JobEventResponse.Render(fitting));
    }

    [Fact]
    public void Around_the_depth_limit_both_write_or_both_refuse()
    {
        var written = 0;
        for (var levels = 26; levels <= 36; levels++)
        {
            var e = Event(Nested(levels));
            string? expected = null;
            try
            {
                expected = Reference(e);
            }
            catch (Exception ex) when (ex is JsonException or InvalidOperationException)
            {
            }

            if (expected is null)
            {
                var refused = Assert.ThrowsAny<Exception>(() => Reference(e));
                Assert.Equal(refused.GetType(), Assert.ThrowsAny<Exception>(() => JobEventResponse.Render(e)).GetType());
            }
            else
            {
                Assert.Equal(expected, JobEventResponse.Render(e));
                written++;
            }
        }

        // The range straddles the limit: some depths are written, some refused.
        Assert.InRange(written, 1, 10);
    }

    [Theory]
    [InlineData("{")]
    [InlineData("{\"a\": 1} {}")]
    [InlineData("{\"a\": tru}")]
    [InlineData("")]
    public void Text_that_is_not_one_json_value_fails_as_the_api_fails(string payload)
    {
        var expected = Assert.ThrowsAny<Exception>(() => Reference(Event(payload)));
        var actual = Assert.ThrowsAny<Exception>(() => JobEventResponse.Render(Event(payload)));

        Assert.Equal(expected.GetType(), actual.GetType());
        var after = Event("{\"after\": 1}");
        Assert.Equal(Reference(after), JobEventResponse.Render(after));
    }

    [Fact]
    public void A_lone_surrogate_in_the_text_fails_as_the_api_fails()
    {
        // Not text jsonb gives back; the copy must not quietly turn it into U+FFFD where the API refuses it.
        foreach (var payload in new[] { "{\"a\": \"x\ud800y\"}", "{\"x\udc00\": 1}" })
        {
            var expected = Assert.ThrowsAny<Exception>(() => Reference(Event(payload)));
            var actual = Assert.ThrowsAny<Exception>(() => JobEventResponse.Render(Event(payload)));

            Assert.Equal(expected.GetType(), actual.GetType());
        }
    }

    [Fact]
    public void A_large_payload_renders_whole()
    {
        var payload = "{\"lines\": [" + string.Join(", ", Enumerable.Range(0, 5000).Select(i => $"\"line {i} é <>\"")) + "]}";
        var e = Event(payload);

        Assert.Equal(Reference(e), JobEventJson.TryRender(e));
        var small = Event("{}");
        Assert.Equal(Reference(small), JobEventResponse.Render(small));
    }

    private static string Nested(int levels) => string.Concat(Enumerable.Repeat("{\"a\": ", levels)) + "1" + new string('}', levels);
}
