using FluentValidation;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.Activity.Persistence;
using MediatR;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.Activity.Features.GetActivity;

[RequiresScope(Scopes.ActivityRead)]
internal sealed record GetActivityQuery(Guid Id) : IQuery<ActivityResponse>;

internal sealed class GetActivityValidator : AbstractValidator<GetActivityQuery>
{
    public GetActivityValidator() => RuleFor(x => x.Id).NotEmpty().WithMessage("'id' must be an activity id.");
}

internal sealed class GetActivityHandler(ActivityDbContext db) : IRequestHandler<GetActivityQuery, ActivityResponse>
{
    public async Task<ActivityResponse> Handle(GetActivityQuery request, CancellationToken cancellationToken)
    {
        var entry = await db.Activities.FirstOrDefaultAsync(a => a.Id == request.Id, cancellationToken)
            ?? throw new NotFoundException($"Activity {request.Id} does not exist.", "activity_not_found");
        return ActivityResponse.From(entry);
    }
}
