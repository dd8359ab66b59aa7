using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Http;
using JobTrail.Modules.JobEvents.Contracts;
using JobTrail.Modules.JobEvents.Persistence;
using MediatR;

namespace JobTrail.Modules.JobEvents.Features.AppendJobEvent;

/// <summary>
/// System emission, sent by the module that changes a job or step, inside its transaction: the
/// event commits with the change or neither does. The job's first event creates its stream.
/// </summary>
internal sealed class AppendJobEventHandler(EventLog store, RequestContext context, TimeProvider clock)
    : IRequestHandler<Contracts.AppendJobEvent, AppendedJobEvent>
{
    public async Task<AppendedJobEvent> Handle(Contracts.AppendJobEvent request, CancellationToken cancellationToken)
    {
        if (!JobEventTypes.IsKnown(request.Type))
        {
            throw new InvalidOperationException($"'{request.Type}' is not in the job event catalog.");
        }

        var now = clock.UtcNowMicros();
        var stored = await store.AppendAsync(
            new AppendRequest(
                request.JobId,
                [new NewEvent(Guid.CreateVersion7(), request.Type, request.StepId, request.PayloadJson, OccurredAt: null)],
                CreateStream: true,
                Seal: JobEventTypes.Terminal.Contains(request.Type),
                IdempotencyKey: null,
                RequestHash: null,
                context.RequireActor(),
                context.CorrelationId,
                now),
            cancellationToken);
        return stored.Count == 1
            ? new AppendedJobEvent(stored[0].Id, stored[0].Seq)
            : throw JobEventErrors.Sealed(request.JobId);
    }
}
