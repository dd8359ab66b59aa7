using System.Buffers;
using System.Security.Cryptography;
using JobTrail.BuildingBlocks.Observability;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobSteps.Contracts;

namespace JobTrail.Modules.JobEvents.Features.EmitEvent;

/// <summary>What a client's emit produced, in seq order; <see cref="Replayed"/> when an Idempotency-Key returned earlier events.</summary>
internal sealed record EmittedEvents(IReadOnlyList<EventRecord> Stored, bool Replayed)
{
    /// <summary>The JSON of the event at <paramref name="index"/>, the same string its live frame and stream entry carry when they made it first.</summary>
    public string Json(int index) => StoredEvents.JsonOf(Stored, index);
}

/// <summary>
/// The rules every client emission follows, one event or a batch, all or nothing: only client types
/// (422), steps of that job only (422), an existing job of this workspace (404), an open log (409),
/// and at most one write per Idempotency-Key (a repeat replays the first write; a different request
/// under the same key is 409).
/// </summary>
internal sealed class ClientEventWriter(
    EventLog store, GroupCommitWriter groupWriter, DbSession session, JoinedWrites joined, IMediator mediator, RequestContext context,
    TimeProvider clock)
{
    public async Task<EmittedEvents> EmitAsync(
        Guid jobId, IReadOnlyList<EventDraft> drafts, string? idempotencyKey, bool isBatch, CancellationToken cancellationToken)
    {
        EnsureClientTypes(drafts, isBatch);
        if (drafts.Any(d => d.StepId is not null))
        {
            await ReadAsync(() => EnsureStepsBelongToJobAsync(jobId, drafts, isBatch, cancellationToken), cancellationToken);
        }

        var workspace = joined.IsActive ? joined.WorkspaceId : session.WorkspaceId;

        var now = clock.UtcNowMicros();
        var events = drafts
            .Select(d => new NewEvent(
                Guid.CreateVersion7(), d.Type!, d.StepId, d.Payload.ToStoredJson(), d.OccurredAt is { } at ? Micros(at) : null,
                d.Payload is { ValueKind: JsonValueKind.Object } payload ? StoredJson.Print(payload) : null))
            .ToList();
        var hash = idempotencyKey is null ? null : Fingerprint(drafts, isBatch);
        // Written and committed by the group writer, under this request's workspace, with what the request
        // joined to it (its activity row); answered only after that commit.
        var stored = await groupWriter.AppendAsync(
            workspace,
            new AppendRequest(
                jobId, events, CreateStream: false, Seal: false, idempotencyKey, hash, context.RequireActor(), context.CorrelationId, now,
                Telemetry.CurrentTraceParent()),
            joined.IsActive ? joined : null,
            cancellationToken);
        if (stored.Count > 0)
        {
            JobEventMetrics.CountAppended(stored.Count, isBatch ? JobEventMetrics.Batch : JobEventMetrics.Client);
            return new EmittedEvents(stored, Replayed: false);
        }

        // Read after the group committed: a key used earlier, in this group too, is there with its events.
        // The group writer never keeps a key row of an append that wrote nothing.
        var refusal = await ReadAsync(() => store.ExplainRefusalAsync(jobId, idempotencyKey, cancellationToken), cancellationToken);
        if (refusal.KeyRequestHash is not null && refusal.KeyEvents.Count > 0)
        {
            return refusal.KeyRequestHash.AsSpan().SequenceEqual(hash)
                ? new EmittedEvents(refusal.KeyEvents, Replayed: true)
                : throw JobEventErrors.KeyReused(idempotencyKey!);
        }

        throw refusal.StreamExists ? JobEventErrors.Sealed(jobId) : JobEventErrors.JobNotFound(jobId);
    }

    /// <summary>An emit opens no transaction of its own: its few reads run in a short read-only session.</summary>
    private async Task<T> ReadAsync<T>(Func<Task<T>> read, CancellationToken cancellationToken)
    {
        if (session.IsOpen)
        {
            return await read();
        }

        await session.BeginAsync(joined.WorkspaceId, readOnly: true, cancellationToken);
        try
        {
            return await read();
        }
        finally
        {
            await session.EndAsync();
        }
    }

    private async Task ReadAsync(Func<Task> read, CancellationToken cancellationToken) =>
        await ReadAsync(async () => { await read(); return true; }, cancellationToken);

    private static void EnsureClientTypes(IReadOnlyList<EventDraft> drafts, bool isBatch)
    {
        for (var i = 0; i < drafts.Count; i++)
        {
            var type = drafts[i].Type!;
            if (!JobEventTypes.ClientEmittable.Contains(type))
            {
                throw new UnprocessableException(
                    $"{Where(i, isBatch)}'{type}' is recorded by the service itself when the job or step changes; " +
                    $"clients may emit {string.Join(", ", JobEventTypes.ClientEmittable.Order(StringComparer.Ordinal))}.",
                    "system_event_type");
            }
        }
    }

    private async Task EnsureStepsBelongToJobAsync(Guid jobId, IReadOnlyList<EventDraft> drafts, bool isBatch, CancellationToken cancellationToken)
    {
        var stepIds = drafts.Where(d => d.StepId is not null).Select(d => d.StepId!.Value).Distinct().ToList();
        if (stepIds.Count == 0)
        {
            return;
        }

        var found = (await mediator.Send(new LookupJobSteps(jobId, stepIds), cancellationToken)).Select(s => s.Id).ToHashSet();
        var missing = drafts.Select((d, i) => (d.StepId, i)).FirstOrDefault(x => x.StepId is { } id && !found.Contains(id));
        if (missing.StepId is null)
        {
            return;
        }

        // An unknown job explains every unknown step: say that rather than blame the step.
        if (!await store.StreamExistsAsync(jobId, cancellationToken))
        {
            throw JobEventErrors.JobNotFound(jobId);
        }

        throw new UnprocessableException($"{Where(missing.i, isBatch)}step {missing.StepId} is not a step of runner job {jobId}.", "step_not_in_job");
    }

    private static string Where(int index, bool isBatch) => isBatch ? $"events[{index}]: " : string.Empty;

    private static DateTime Micros(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return new DateTime(utc.Ticks - (utc.Ticks % 10), DateTimeKind.Utc);
    }

    /// <summary>
    /// What a request asked for, independent of whitespace and of the order of object properties
    /// (as jsonb stores it): a repeat with the same key must ask for the same thing. Single and
    /// batch requests never match each other.
    /// </summary>
    internal static byte[] Fingerprint(IReadOnlyList<EventDraft> drafts, bool isBatch)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartArray();
            writer.WriteStringValue(isBatch ? "batch" : "single");
            foreach (var draft in drafts)
            {
                writer.WriteStartArray();
                writer.WriteStringValue(draft.Type);
                if (draft.StepId is { } step)
                {
                    writer.WriteStringValue(step);
                }
                else
                {
                    writer.WriteNullValue();
                }

                if (draft.Payload is { ValueKind: not (JsonValueKind.Null or JsonValueKind.Undefined) } payload)
                {
                    // The canonical form, written through this writer: stored fingerprints were made with its string escaping.
                    using var canonical = JsonDocument.Parse(CanonicalJson.Encode(payload));
                    canonical.RootElement.WriteTo(writer);
                }
                else
                {
                    writer.WriteNullValue();
                }

                if (draft.OccurredAt is { } at)
                {
                    writer.WriteStringValue(Micros(at));
                }
                else
                {
                    writer.WriteNullValue();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndArray();
        }

        return SHA256.HashData(buffer.WrittenSpan);
    }
}
