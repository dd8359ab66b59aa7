using JobTrail.Modules.Activity.Persistence;

namespace JobTrail.Modules.Activity.Features.GetActivity;

[RequiresScope(Scopes.ActivityRead)]
internal sealed record GetActivityQuery(Guid Id) : IQuery<ActivityResponse>;

internal sealed class GetActivityValidator : AbstractValidator<GetActivityQuery>
{
    public GetActivityValidator() => RuleFor(x => x.Id).NotEmpty().WithMessage("'id' must be an activity id.");
}

internal sealed class GetActivityHandler(ActivityDbContext db) : IRequestHandler<GetActivityQuery, ActivityResponse>
{
    public async Task<ActivityResponse> Handle(GetActivityQuery request, CancellationToken cancellationToken) =>
        ActivityResponse.From(await db.Activities.SingleOrNotFoundAsync(
            a => a.Id == request.Id, () => new NotFoundException($"Activity {request.Id} does not exist.", "activity_not_found"), cancellationToken));
}
