namespace JobTrail.ArchitectureTests.Analysis;

internal static class Bcl
{
    /// <summary>
    /// The assemblies of the Microsoft.NETCore.App shared framework this test runs on (System.*,
    /// Microsoft.Win32.*, netstandard, mscorlib...). A NuGet package named System.Something is not among them.
    /// </summary>
    public static IReadOnlySet<string> AssemblyNames { get; } =
        Directory.EnumerateFiles(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "*.dll")
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .ToHashSet(StringComparer.Ordinal);
}
