namespace JobTrail.ArchitectureTests;

internal static class ArchitectureAssert
{
    /// <summary>Fails with every violation listed, one a line, rather than the first few.</summary>
    public static void NoViolations(IReadOnlyCollection<string> violations) =>
        Assert.True(
            violations.Count == 0,
            $"{violations.Count} violation(s):{Environment.NewLine}{string.Join(Environment.NewLine, violations)}");

    /// <summary>Exactly these violations, whatever their order.</summary>
    public static void Violations(IEnumerable<string> expected, IReadOnlyCollection<string> actual) =>
        Assert.Equal(expected.Order(StringComparer.Ordinal), actual.Order(StringComparer.Ordinal));
}
