using System.Text.RegularExpressions;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Analysis;

/// <summary>
/// The JobTrail assemblies built into this test's output folder, read once with Mono.Cecil.
/// Modules are discovered by file name, so a module that does not exist yet is simply absent.
/// </summary>
internal static partial class BuiltAssemblies
{
    public const string BuildingBlocksName = "JobTrail.BuildingBlocks";
    public const string HostName = "JobTrail.Host";

    private static readonly string OutputDirectory = AppContext.BaseDirectory;
    private static readonly DefaultAssemblyResolver Resolver = CreateResolver();
    private static readonly Lazy<IReadOnlyList<AssemblyDefinition>> JobTrailAssemblies = new(ReadJobTrailAssemblies);
    private static readonly Lazy<AssemblyDefinition> TestAssembly = new(() => Read(typeof(BuiltAssemblies).Assembly.Location));

    public static AssemblyDefinition BuildingBlocks => Single(BuildingBlocksName);

    public static AssemblyDefinition Host => Single(HostName);

    public static AssemblyDefinition Named(string name) => Single(name);

    /// <summary>This test assembly, which holds the fixture types that break the rules on purpose.</summary>
    public static AssemblyDefinition Tests => TestAssembly.Value;

    public static IReadOnlyList<AssemblyDefinition> ModuleImplementations =>
        [.. JobTrailAssemblies.Value.Where(a => IsModuleImplementation(a.Name.Name))];

    public static IReadOnlyList<AssemblyDefinition> ModuleContracts =>
        [.. JobTrailAssemblies.Value.Where(a => IsModuleContracts(a.Name.Name))];

    public static IReadOnlyList<AssemblyDefinition> AllModuleAssemblies => [.. ModuleImplementations, .. ModuleContracts];

    /// <summary><c>JobTrail.Modules.Access</c> is the implementation of the module <c>Access</c>.</summary>
    public static bool IsModuleImplementation(string assemblyName) => ModuleImplementationPattern().IsMatch(assemblyName);

    public static bool IsModuleContracts(string assemblyName) => ModuleContractsPattern().IsMatch(assemblyName);

    /// <summary>The module's name (<c>Access</c>) from its implementation assembly's name.</summary>
    public static string ModuleName(string implementationAssemblyName)
    {
        var match = ModuleImplementationPattern().Match(implementationAssemblyName);
        return match.Success
            ? match.Groups["module"].Value
            : throw new ArgumentException($"{implementationAssemblyName} is not a module implementation assembly.", nameof(implementationAssemblyName));
    }

    private static AssemblyDefinition Read(string path) =>
        AssemblyDefinition.ReadAssembly(path, new ReaderParameters { AssemblyResolver = Resolver });

    private static AssemblyDefinition Single(string name) =>
        JobTrailAssemblies.Value.SingleOrDefault(a => a.Name.Name == name)
        ?? throw new InvalidOperationException($"{name}.dll is not in {OutputDirectory}; is it referenced by the test project?");

    private static List<AssemblyDefinition> ReadJobTrailAssemblies()
    {
        var testAssemblyName = typeof(BuiltAssemblies).Assembly.GetName().Name;
        return [.. Directory.EnumerateFiles(OutputDirectory, "JobTrail.*.dll")
            .Where(path => Path.GetFileNameWithoutExtension(path) != testAssemblyName)
            .Order(StringComparer.Ordinal)
            .Select(Read)];
    }

    private static DefaultAssemblyResolver CreateResolver()
    {
        // Cecil also looks in the runtime's trusted platform assemblies, which hold the shared frameworks.
        var resolver = new DefaultAssemblyResolver();
        resolver.AddSearchDirectory(OutputDirectory);
        return resolver;
    }

    [GeneratedRegex(@"^JobTrail\.Modules\.(?<module>[A-Za-z0-9]+)$")]
    private static partial Regex ModuleImplementationPattern();

    [GeneratedRegex(@"^JobTrail\.Modules\.(?<module>[A-Za-z0-9]+)\.Contracts$")]
    private static partial Regex ModuleContractsPattern();
}
