using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.BuildingBlocks.Paging;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Persistence;
using MediatR;

namespace JobTrail.Modules.JobEvents.Features.ListEventsForJob;

internal sealed record EventCursor(long Seq);

/// <summary>
/// A job's events in seq order, optionally only some types, only after a seq, and only those that
/// occurred in [from, to). Keyset-paged on seq.
/// </summary>
[RequiresScope(Scopes.EventsRead)]
internal sealed record ListEventsForJobQuery(
    Guid JobId, string? Types, long? AfterSeq, DateTimeOffset? From, DateTimeOffset? To, int? Limit, string? Cursor)
    : IQuery<Page<JobEventResponse>>
{
    public IReadOnlyList<string> TypeList =>
        Types is null ? [] : Types.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
}

internal sealed class ListEventsForJobValidator : AbstractValidator<ListEventsForJobQuery>
{
    public ListEventsForJobValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.Types).MaximumLength(1000).WithMessage("'types' must be at most 1000 characters.");
        RuleFor(x => x.TypeList).Must(types => types.All(JobEventTypes.IsKnown))
            .WithMessage(x => $"'types' names an unknown type ('{x.TypeList.First(t => !JobEventTypes.IsKnown(t))}'); the types are {EventLimits.KnownTypes}.")
            .OverridePropertyName("types");
        RuleFor(x => x.AfterSeq).GreaterThanOrEqualTo(0).WithMessage("'afterSeq' must be 0 or more.");
        RuleFor(x => x.To).GreaterThan(x => x.From).When(x => x.From is not null && x.To is not null)
            .WithMessage("'to' must be later than 'from'.");
        RuleFor(x => x.Limit).ValidLimit();
        RuleFor(x => x.Cursor).ValidCursor<ListEventsForJobQuery, EventCursor>();
    }
}

internal sealed class ListEventsForJobHandler(JobEventStore store) : IRequestHandler<ListEventsForJobQuery, Page<JobEventResponse>>
{
    public async Task<Page<JobEventResponse>> Handle(ListEventsForJobQuery request, CancellationToken cancellationToken)
    {
        var limit = request.Limit ?? Paging.DefaultLimit;
        var after = request.AfterSeq ?? 0;
        if (request.Cursor is not null)
        {
            after = Math.Max(after, Cursor.Decode<EventCursor>(request.Cursor).Seq);
        }

        var types = request.TypeList;
        var filter = new EventFilter(request.JobId, after, types.Count == 0 ? null : types, request.From?.UtcDateTime, request.To?.UtcDateTime);
        var (streamExists, rows) = await store.ListAsync(filter, limit + 1, cancellationToken);
        if (!streamExists)
        {
            throw JobEventErrors.JobNotFound(request.JobId);
        }

        return Paging.ToPage(rows.Select(JobEventResponse.From).ToList(), limit, e => new EventCursor(e.Seq));
    }
}
