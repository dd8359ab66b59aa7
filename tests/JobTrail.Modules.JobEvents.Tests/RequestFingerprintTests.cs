using System.Text.Json;
using JobTrail.Modules.JobEvents.Features;
using JobTrail.Modules.JobEvents.Features.EmitEvent;

namespace JobTrail.Modules.JobEvents.Tests;

/// <summary>What makes two requests under one Idempotency-Key "the same request".</summary>
public sealed class RequestFingerprintTests
{
    private static readonly Guid Step = Guid.Parse("0193a6f2-6c1e-7b3a-9d41-2f8e5c7a1b20");

    [Fact]
    public void Whitespace_in_the_payload_does_not_matter()
    {
        var compact = Draft("""{"line":"a","n":[1,2]}""");
        var spaced = Draft("""{ "line" : "a", "n" : [ 1, 2 ] }""");

        Assert.Equal(Fingerprint(compact), Fingerprint(spaced));
    }

    [Fact]
    public void The_order_of_payload_properties_does_not_matter_at_any_depth()
    {
        var one = Draft("""{"line":"a","meta":{"x":1,"y":[{"p":1,"q":2}]}}""");
        var other = Draft("""{"meta":{"y":[{"q":2,"p":1}],"x":1},"line":"a"}""");

        Assert.Equal(Fingerprint(one), Fingerprint(other));
    }

    [Theory]
    [InlineData("""{"line":"b","n":[1,2]}""")]
    [InlineData("""{"line":"a","n":[2,1]}""")]
    [InlineData("""{"line":"a"}""")]
    [InlineData(null)]
    public void A_different_payload_is_a_different_request(string? payload) =>
        Assert.NotEqual(Fingerprint(Draft("""{"line":"a","n":[1,2]}""")), Fingerprint(Draft(payload)));

    [Fact]
    public void Type_step_and_occurredAt_are_part_of_the_request()
    {
        var baseline = Fingerprint(Draft(null));

        Assert.NotEqual(baseline, Fingerprint(new EventDraft("step.progress", Step, null, null)));
        Assert.NotEqual(baseline, Fingerprint(new EventDraft("step.output", null, null, null)));
        Assert.NotEqual(baseline, Fingerprint(new EventDraft("step.output", Step, null, DateTimeOffset.UnixEpoch)));
    }

    [Fact]
    public void The_same_instant_in_another_offset_is_the_same_request()
    {
        var utc = new DateTimeOffset(2026, 1, 15, 8, 0, 0, TimeSpan.Zero);
        var paris = utc.ToOffset(TimeSpan.FromHours(1));

        Assert.Equal(
            Fingerprint(new EventDraft("step.output", Step, null, utc)),
            Fingerprint(new EventDraft("step.output", Step, null, paris)));
    }

    [Fact]
    public void A_single_emit_and_a_batch_of_that_one_event_are_different_requests()
    {
        var draft = Draft("""{"line":"a"}""");

        Assert.NotEqual(ClientEventWriter.Fingerprint([draft], isBatch: false), ClientEventWriter.Fingerprint([draft], isBatch: true));
    }

    [Fact]
    public void The_order_of_a_batch_matters()
    {
        var a = Draft("""{"line":"a"}""");
        var b = Draft("""{"line":"b"}""");

        Assert.NotEqual(ClientEventWriter.Fingerprint([a, b], isBatch: true), ClientEventWriter.Fingerprint([b, a], isBatch: true));
    }

    [Theory]
    [InlineData("""{"z":{"b":"é<&>'+","a":[1e2,-0.50,"\u0001"]},"é":"日本","a":"\"\\/"}""")]
    [InlineData("""{"b":true,"a":null,"c":[{"y":1,"x":2},[]]}""")]
    public void Fingerprints_keep_the_bytes_stored_keys_were_made_with(string payload)
    {
        var draft = Draft(payload);

        Assert.Equal(StoredEncoding(draft), Fingerprint(draft));
    }

    /// <summary>The encoding fingerprints have been stored with: sorted properties, leaves and names escaped by Utf8JsonWriter's defaults.</summary>
    private static byte[] StoredEncoding(EventDraft draft)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue("single");
            writer.WriteStartArray();
            writer.WriteStringValue(draft.Type);
            writer.WriteStringValue(draft.StepId!.Value);
            Write(writer, draft.Payload!.Value);
            writer.WriteNullValue();
            writer.WriteEndArray();
            writer.WriteEndArray();
        }

        return System.Security.Cryptography.SHA256.HashData(buffer.WrittenSpan);

        static void Write(Utf8JsonWriter writer, JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Object)
            {
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    Write(writer, property.Value);
                }

                writer.WriteEndObject();
            }
            else if (element.ValueKind == JsonValueKind.Array)
            {
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item);
                }

                writer.WriteEndArray();
            }
            else
            {
                element.WriteTo(writer);
            }
        }
    }

    private static EventDraft Draft(string? payload) =>
        new("step.output", Step, payload is null ? null : JsonDocument.Parse(payload).RootElement.Clone(), null);

    private static byte[] Fingerprint(EventDraft draft) => ClientEventWriter.Fingerprint([draft], isBatch: false);
}
