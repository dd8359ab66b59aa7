using JobTrail.BuildingBlocks.Paging;
using JobTrail.BuildingBlocks.Valkey;
using JobTrail.Modules.JobEvents.Persistence;
using JobTrail.Modules.JobEvents.Relay;
using JobTrail.Modules.JobEvents.Delivery;
using JobTrail.Modules.JobEvents.Features.StreamEvents;
using RedisException = StackExchange.Redis.RedisException;

namespace JobTrail.Modules.JobEvents.Features.GetRecentEvents;

/// <summary>Where the answer came from: the job's Valkey stream, or PostgreSQL.</summary>
internal sealed record RecentEvents(Page<JobEventResponse> Page, string Source);

/// <summary>
/// The newest <c>count</c> events, oldest first. Served from the Valkey stream when it holds exactly
/// the newest events PostgreSQL has and every one of them verifies as this job's (signature, job,
/// workspace, seq); otherwise (Valkey down, the relay behind, the stream expired, an entry that does
/// not verify) from PostgreSQL, in the same shape.
/// </summary>
[RequiresScope(Scopes.EventsRead)]
internal sealed record GetRecentEventsQuery(Guid JobId, int? Count) : IQuery<RecentEvents>;

internal sealed class GetRecentEventsValidator : AbstractValidator<GetRecentEventsQuery>
{
    public GetRecentEventsValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.Count).InclusiveBetween(1, 1000).WithMessage("'count' must be between 1 and 1000.");
    }
}

internal sealed class GetRecentEventsHandler(DbSession session, IValkeyClient valkey, DeliveryIntegrity integrity)
    : IRequestHandler<GetRecentEventsQuery, RecentEvents>
{
    public const string FromValkey = "valkey";
    public const string FromPostgres = "postgres";

    public async Task<RecentEvents> Handle(GetRecentEventsQuery request, CancellationToken cancellationToken)
    {
        var count = request.Count ?? 100;
        var head = await StreamHead.ReadAsync(session, request.JobId, cancellationToken) ?? throw JobEventErrors.JobNotFound(request.JobId);
        var expected = (int)Math.Min(count, head.LastSeq);
        if (expected == 0)
        {
            return new RecentEvents(new Page<JobEventResponse>([], null), FromPostgres);
        }

        try
        {
            var entries = await valkey.ReadNewestAsync(ValkeyKeys.Stream(request.JobId), expected);
            if (entries.Count == expected && Verified(request.JobId, head.LastSeq - expected + 1, entries) is { } items)
            {
                return new RecentEvents(new Page<JobEventResponse>(items, null), FromValkey);
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // Valkey is down: PostgreSQL has every event.
            JobEventMetrics.CountFallback("recent");
        }

        // The newest `expected` events are the stream's backfill read from head - expected.
        var rows = await ReadEventsAfterHandler.ReadAsync(session, request.JobId, head.LastSeq - expected, expected, cancellationToken);
        return new RecentEvents(new Page<JobEventResponse>(rows.Select(JobEventResponse.From).ToList(), null), FromPostgres);
    }

    /// <summary>The entries as events when they are seqs <paramref name="firstSeq"/>… in order and each verifies as this job's; else null.</summary>
    private List<JobEventResponse>? Verified(Guid jobId, long firstSeq, IReadOnlyList<StreamEntry> entries)
    {
        var items = new List<JobEventResponse>(entries.Count);
        foreach (var entry in entries)
        {
            if (entry.Seq != firstSeq + items.Count || integrity.Verify(jobId, session.WorkspaceId, entry.Seq, entry.Json, entry.Signature, DeliveryIntegrity.FromStream) is null)
            {
                return null;
            }

            items.Add(JsonSerializer.Deserialize<JobEventResponse>(entry.Json, JsonDefaults.Options)!);
        }

        return items;
    }
}
