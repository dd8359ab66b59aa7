using JobTrail.BuildingBlocks.Persistence;

namespace JobTrail.Modules.RunnerJobs.Domain;

/// <summary>Status as clients spell it (UPPER_CASE), parsed strictly.</summary>
internal static class JobStatusText
{
    public static readonly string AllSpelled = UpperSnakeCaseEnumConverter<JobStatus>.AllNames;

    public static bool TryParse(string? text, out JobStatus status) => UpperSnakeCaseEnumConverter<JobStatus>.TryParse(text, out status);
}
