using JobTrail.ArchitectureTests.Analysis;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Rules;

/// <summary>
/// The one visibility rule left to Mono.Cecil: NetArchTest cannot tell a type someone wrote from the
/// public marker types the compiler emits for C# 14 extension blocks, which carry no [CompilerGenerated].
/// Handlers, validators, endpoints and DbContexts are checked with NetArchTest in <see cref="SliceRules"/>.
/// </summary>
internal static class VisibilityRules
{
    /// <summary>
    /// A module implementation exposes exactly one type: the public static class <c>&lt;Name&gt;Module</c>
    /// with <c>Add&lt;Name&gt;Module</c>. Endpoints, handlers and the rest are internal (found by scanning).
    /// </summary>
    public static IReadOnlyList<string> PublicTypesBesidesModuleClass(AssemblyDefinition moduleImplementation) =>
        PublicTypesBesidesModuleClass(BuiltAssemblies.ModuleName(moduleImplementation.Name.Name), moduleImplementation.AllTypes());

    public static IReadOnlyList<string> PublicTypesBesidesModuleClass(string moduleName, IEnumerable<TypeDefinition> types)
    {
        var moduleClassName = $"{moduleName}Module";
        var exposed = types.Where(t => t.IsExternallyVisible() && !t.IsCompilerGenerated()).ToList();
        var moduleClasses = exposed.Where(t => t.Name == moduleClassName && t.IsStaticClass() && !t.IsNested).ToList();
        var violations = exposed.Except(moduleClasses)
            .Select(t => $"{t.FullName} is public, but module {moduleName} exposes only its static class {moduleClassName}")
            .ToList();
        if (moduleClasses.Count != 1)
        {
            violations.Add($"module {moduleName} exposes {moduleClasses.Count} public static classes named {moduleClassName} instead of one");
        }

        return [.. violations.Order(StringComparer.Ordinal)];
    }
}
