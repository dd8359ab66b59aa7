using JobTrail.Modules.JobSteps.Contracts;
using JobTrail.Modules.JobSteps.Domain;
using JobTrail.Modules.JobSteps.Persistence;

namespace JobTrail.Modules.JobSteps.Features.LookupSteps;

/// <summary>Answers other modules' <see cref="LookupJobSteps"/> inside their request's transaction.</summary>
internal sealed class LookupJobStepsHandler(JobStepsDbContext db) : IRequestHandler<LookupJobSteps, IReadOnlyList<JobStepSnapshot>>
{
    public async Task<IReadOnlyList<JobStepSnapshot>> Handle(LookupJobSteps request, CancellationToken cancellationToken)
    {
        var ids = request.StepIds.Distinct().ToArray();
        if (ids.Length == 0)
        {
            return [];
        }

        var steps = await db.Steps.AsNoTracking()
            .Where(s => s.JobId == request.JobId && ids.Contains(s.Id))
            .ToListAsync(cancellationToken);
        return steps
            .Select(s => new JobStepSnapshot(s.Id, s.JobId, s.Ordinal, s.Name, EnumText.Spell(s.Type), EnumText.Spell(s.Status)))
            .ToList();
    }
}
