using JobTrail.ArchitectureTests.Analysis;

namespace JobTrail.ArchitectureTests;

/// <summary>The rules are only as good as the assemblies they read: every module that exists must be among them.</summary>
public sealed class ModuleDiscoveryTests
{
    [Fact]
    public void Every_module_the_host_composes_is_checked()
    {
        var checkedModules = BuiltAssemblies.ModuleImplementations.Select(a => a.Name.Name).ToHashSet(StringComparer.Ordinal);
        var composed = BuiltAssemblies.Host.MainModule.AssemblyReferences.Select(r => r.Name).Where(BuiltAssemblies.IsModuleImplementation).ToList();

        Assert.NotEmpty(composed);
        Assert.All(composed, module => Assert.Contains(module, checkedModules));
    }

    [Fact]
    public void Every_module_project_in_src_is_checked()
    {
        var checkedAssemblies = BuiltAssemblies.AllModuleAssemblies.Select(a => a.Name.Name).ToHashSet(StringComparer.Ordinal);
        // src/Modules/<Name>/<Project>/<Project>.csproj, the same pattern the test project references.
        var moduleProjects = Directory.EnumerateDirectories(Path.Combine(RepositoryRoot(), "src", "Modules"))
            .SelectMany(Directory.EnumerateDirectories)
            .SelectMany(project => Directory.EnumerateFiles(project, "*.csproj"))
            .Select(Path.GetFileNameWithoutExtension)
            .OfType<string>()
            .ToList();

        Assert.NotEmpty(moduleProjects);
        Assert.All(moduleProjects, project => Assert.Contains(project, checkedAssemblies));
    }

    private static string RepositoryRoot()
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
