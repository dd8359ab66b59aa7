using System.Text.RegularExpressions;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.Activity.Domain;

/// <summary>How actions, entity types, ids and outcomes are spelled.</summary>
internal static partial class ActivityRules
{
    public const int MaxEntityIdLength = 200;
    public const int MaxActorIdLength = 200;

    /// <summary>
    /// Entity types whose actions only the pipeline's capture writes; an outside source may not
    /// record <c>runner_job.created</c> and pass it off as the system's.
    /// </summary>
    public static readonly IReadOnlySet<string> SystemEntityTypes =
        new HashSet<string>(StringComparer.Ordinal) { "workspace", "api_key", "runner_job", "job_step", "job_event" };

    public static readonly string AllOutcomes = string.Join(", ", Enum.GetValues<ActivityOutcome>().Select(Spell));

    public static bool IsAction(string? text) => text is not null && Action().IsMatch(text);

    public static bool IsEntityType(string? text) => text is not null && EntityType().IsMatch(text);

    public static bool IsEntityId(string? text) => text is { Length: > 0 and <= MaxEntityIdLength } && !text.Any(char.IsControl);

    public static bool IsActionFilter(string? text) => text is not null && ActionFilter().IsMatch(text);

    public static bool IsReservedAction(string action) => SystemEntityTypes.Contains(action[..action.IndexOf('.', StringComparison.Ordinal)]);

    /// <summary><c>runner_job.*</c> → <c>runner_job</c>; an exact action answers false.</summary>
    public static bool TryGetPrefix(string filter, out string entity)
    {
        entity = filter.EndsWith(".*", StringComparison.Ordinal) ? filter[..^2] : string.Empty;
        return entity.Length > 0;
    }

    public static string Spell(ActivityOutcome outcome) => EnumText.Spell(outcome);

    public static bool TryParseOutcome(string? text, out ActivityOutcome outcome) =>
        EnumText.TryParse(text, out outcome);

    /// <summary><c>&lt;entity&gt;.&lt;verb&gt;</c>: <c>runner_job.created</c>, <c>auth.password_reset</c>.</summary>
    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}\\.[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex Action();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex EntityType();

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}\\.(\\*|[a-z][a-z0-9_]{0,63})$")]
    private static partial Regex ActionFilter();
}
