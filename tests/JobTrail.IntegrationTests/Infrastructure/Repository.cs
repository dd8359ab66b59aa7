namespace JobTrail.IntegrationTests.Infrastructure;

/// <summary>Paths in the source tree the tests run from.</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Modules.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No Modules.sln above {AppContext.BaseDirectory}.");
    }
}
