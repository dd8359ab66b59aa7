using JobTrail.BuildingBlocks.Persistence;

namespace JobTrail.Modules.RunnerJobs.Domain;

/// <summary>Status as clients spell it (UPPER_CASE), parsed strictly.</summary>
internal static class JobStatusText
{
    public static readonly string AllSpelled = string.Join(", ", Enum.GetValues<JobStatus>().Select(JobStateMachine.Spell));

    public static bool TryParse(string? text, out JobStatus status)
    {
        foreach (var candidate in Enum.GetValues<JobStatus>())
        {
            if (string.Equals(UpperSnakeCaseEnumConverter<JobStatus>.NameOf(candidate), text, StringComparison.Ordinal))
            {
                status = candidate;
                return true;
            }
        }

        status = default;
        return false;
    }
}
