using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;

namespace JobTrail.Modules.JobEvents.Features;

internal sealed record JobEventResponse(
    Guid Id,
    Guid JobId,
    Guid WorkspaceId,
    long Seq,
    string Type,
    Guid? StepId,
    JsonElement? Payload,
    string ActorId,
    string CorrelationId,
    DateTime OccurredAt,
    DateTime RecordedAt)
{
    /// <summary>Mapped by the module's compiled configuration (<see cref="JobEventsMapping"/>): no reflection per event.</summary>
    public static JobEventResponse From(EventRecord e) => e.Adapt<JobEventResponse>(JobEventsMapping.Config);

    /// <summary>
    /// The event's JSON as the REST API returns it: what a live stream's frame and the relay's stream entry carry, byte
    /// for byte (<see cref="StoredEvents"/> keeps it once made). Written by <see cref="JobEventJson"/> without the
    /// response object or a parsed copy of the payload.
    /// </summary>
    public static string Render(EventRecord e) => JobEventJson.Render(e);
}

/// <summary>
/// Writes an event as <see cref="JobEventResponse"/> serialised with <see cref="JsonDefaults.Options"/> would be, field
/// by field in the record's order and with the same writer calls its converters make (a string, a Guid or a DateTime
/// goes through the writer's own method, as their converters do). The payload, jsonb's text of it, is copied token by
/// token from a reader to the writer, which is what serialising the <see cref="JsonElement"/> parsed from that text
/// does (strings unescaped and escaped again by the encoder, numbers as written, no whitespace) without building the
/// element: at every emitted event this ran once for the 201, the live frame and the relay, and the parse and copy of
/// the payload's document were the largest part of it. Text the reader refuses is rendered the long way, so that what
/// the API would answer (or throw) stays the one reference.
/// </summary>
internal static class JobEventJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JsonDefaults.Options.Encoder ?? JavaScriptEncoder.Default,
        Indented = false,
        // The serialiser's writer refuses what is deeper than its options allow; so does this one, and the long way
        // then throws as the API would.
        MaxDepth = JsonDefaults.Options.MaxDepth,
    };

    // What JsonSerializer.Deserialize<JsonElement>(text) reads the stored payload with: default options.
    private static readonly JsonReaderOptions ReaderOptions = default;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? cachedBuffer;

    [ThreadStatic]
    private static Utf8JsonWriter? cachedWriter;

    public static string Render(EventRecord e) => TryRender(e) ?? JsonSerializer.Serialize(JobEventResponse.From(e), JsonDefaults.Options);

    /// <summary>The event written by hand, or null where <see cref="Render"/> goes the long way.</summary>
    internal static string? TryRender(EventRecord e)
    {
        var buffer = cachedBuffer ??= new ArrayBufferWriter<byte>(1024);
        var writer = cachedWriter ??= new Utf8JsonWriter(buffer, WriterOptions);
        try
        {
            if (!TryWrite(writer, e))
            {
                return null;
            }

            writer.Flush();
            return Encoding.UTF8.GetString(buffer.WrittenSpan);
        }
        finally
        {
            writer.Reset(buffer);
            buffer.ResetWrittenCount();
            if (buffer.Capacity > 64 * 1024)
            {
                // A large payload's buffer is not kept by the thread.
                cachedBuffer = null;
                cachedWriter = null;
            }
        }
    }

    private static bool TryWrite(Utf8JsonWriter writer, EventRecord e)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, e.Id);
        writer.WriteString("jobId"u8, e.JobId);
        writer.WriteString("workspaceId"u8, e.WorkspaceId);
        writer.WriteNumber("seq"u8, e.Seq);
        writer.WriteString("type"u8, e.Type);
        if (e.StepId is { } stepId)
        {
            writer.WriteString("stepId"u8, stepId);
        }
        else
        {
            writer.WriteNull("stepId"u8);
        }

        writer.WritePropertyName("payload"u8);
        if (e.PayloadJson is null)
        {
            writer.WriteNullValue();
        }
        else if (!TryCopyPayload(writer, e.PayloadJson))
        {
            return false;
        }

        writer.WriteString("actorId"u8, e.ActorId);
        writer.WriteString("correlationId"u8, e.CorrelationId);
        writer.WriteString("occurredAt"u8, e.OccurredAt);
        writer.WriteString("recordedAt"u8, e.RecordedAt);
        writer.WriteEndObject();
        return true;
    }

    private static bool TryCopyPayload(Utf8JsonWriter writer, string json)
    {
        var depth = writer.CurrentDepth;
        byte[]? bytes = null;
        byte[]? unescaped = null;
        try
        {
            // Strict, as the serialiser's own transcoding is: a lone surrogate goes the long way and fails there.
            bytes = ArrayPool<byte>.Shared.Rent(StrictUtf8.GetMaxByteCount(json.Length));
            var length = StrictUtf8.GetBytes(json, bytes);
            var reader = new Utf8JsonReader(bytes.AsSpan(0, length), ReaderOptions);
            do
            {
                if (!reader.Read())
                {
                    return false;
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                        writer.WriteStartObject();
                        break;
                    case JsonTokenType.EndObject:
                        writer.WriteEndObject();
                        break;
                    case JsonTokenType.StartArray:
                        writer.WriteStartArray();
                        break;
                    case JsonTokenType.EndArray:
                        writer.WriteEndArray();
                        break;
                    case JsonTokenType.PropertyName:
                        writer.WritePropertyName(Unescaped(ref reader, ref unescaped));
                        break;
                    case JsonTokenType.String:
                        writer.WriteStringValue(Unescaped(ref reader, ref unescaped));
                        break;
                    case JsonTokenType.Number:
                        // The number's text as it stands, as the element's writer copies it.
                        writer.WriteRawValue(reader.ValueSpan, skipInputValidation: true);
                        break;
                    case JsonTokenType.True:
                        writer.WriteBooleanValue(true);
                        break;
                    case JsonTokenType.False:
                        writer.WriteBooleanValue(false);
                        break;
                    case JsonTokenType.Null:
                        writer.WriteNullValue();
                        break;
                    default:
                        return false;
                }
            }
            while (writer.CurrentDepth > depth);

            // One value and nothing after it but whitespace, as the parse of the whole text requires.
            return !reader.Read();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException or OverflowException)
        {
            return false;
        }
        finally
        {
            // Cleared, as the serialiser clears what it pools: a payload may hold what its job should not leave around.
            if (bytes is not null)
            {
                ArrayPool<byte>.Shared.Return(bytes, clearArray: true);
            }

            if (unescaped is not null)
            {
                ArrayPool<byte>.Shared.Return(unescaped, clearArray: true);
            }
        }
    }

    /// <summary>The token's value with its JSON escapes undone, as UTF-8.</summary>
    private static ReadOnlySpan<byte> Unescaped(ref Utf8JsonReader reader, ref byte[]? scratch)
    {
        if (!reader.ValueIsEscaped)
        {
            return reader.ValueSpan;
        }

        // Unescaped text is never longer than its escaped form.
        var needed = reader.ValueSpan.Length;
        if (scratch is null || scratch.Length < needed)
        {
            var larger = ArrayPool<byte>.Shared.Rent(needed);
            if (scratch is not null)
            {
                ArrayPool<byte>.Shared.Return(scratch, clearArray: true);
            }

            scratch = larger;
        }

        var written = reader.CopyString(scratch);
        return scratch.AsSpan(0, written);
    }
}
