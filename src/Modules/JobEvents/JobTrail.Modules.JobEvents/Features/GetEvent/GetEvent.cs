using JobTrail.Modules.JobEvents.Persistence;

namespace JobTrail.Modules.JobEvents.Features.GetEvent;

[RequiresScope(Scopes.EventsRead)]
internal sealed record GetEventQuery(Guid JobId, Guid EventId) : IQuery<JobEventResponse>;

internal sealed class GetEventValidator : AbstractValidator<GetEventQuery>
{
    public GetEventValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
        RuleFor(x => x.EventId).NotEmpty().WithMessage("'eventId' must be an event id.");
    }
}

internal sealed class GetEventHandler(DbSession session) : IRequestHandler<GetEventQuery, JobEventResponse>
{
    public async Task<JobEventResponse> Handle(GetEventQuery request, CancellationToken cancellationToken)
    {
        var (streamExists, found) = await ReadAsync(session, request.JobId, request.EventId, cancellationToken);
        return found is not null ? JobEventResponse.From(found)
            : throw (streamExists ? JobEventErrors.EventNotFound(request.JobId, request.EventId) : JobEventErrors.JobNotFound(request.JobId));
    }

    /// <summary>One round trip: whether the job is there (404 job vs 404 event), and the event.</summary>
    internal static async Task<(bool StreamExists, EventRecord? Event)> ReadAsync(DbSession session, Guid jobId, Guid eventId, CancellationToken cancellationToken)
    {
        await using var batch = EventRows.Batch(session);
        batch.BatchCommands.Add(EventRows.StreamExists(session, jobId));
        batch.BatchCommands.Add(EventRows.Command(
            $"select {EventRows.Columns} from job_events.events where workspace_id = $1 and job_id = $2 and id = $3",
            session.WorkspaceId, jobId, eventId));
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        var streamExists = await reader.ReadAsync(cancellationToken);
        await reader.NextResultAsync(cancellationToken);
        var found = await reader.ReadAsync(cancellationToken) ? EventRows.Read(reader) : null;
        return (streamExists, found);
    }
}
