using FluentValidation;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.JobEvents.Persistence;
using MediatR;

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

internal sealed class GetEventHandler(JobEventStore store) : IRequestHandler<GetEventQuery, JobEventResponse>
{
    public async Task<JobEventResponse> Handle(GetEventQuery request, CancellationToken cancellationToken)
    {
        var (streamExists, found) = await store.GetAsync(request.JobId, request.EventId, cancellationToken);
        return found is not null ? JobEventResponse.From(found)
            : throw (streamExists ? JobEventErrors.EventNotFound(request.JobId, request.EventId) : JobEventErrors.JobNotFound(request.JobId));
    }
}
