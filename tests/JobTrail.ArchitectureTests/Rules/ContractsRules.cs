using JobTrail.ArchitectureTests.Analysis;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Rules;

internal static class ContractsRules
{
    private const string MediatR = "MediatR";

    /// <summary>A Contracts assembly may reference the BCL and MediatR, nothing else.</summary>
    public static IReadOnlyList<string> ReferencesOutsideBclAndMediatR(AssemblyDefinition contracts, IReadOnlySet<string> bclAssemblyNames) =>
        [.. contracts.Modules
            .SelectMany(m => m.AssemblyReferences)
            .Where(r => r.Name != MediatR && !bclAssemblyNames.Contains(r.Name))
            .Select(r => $"{contracts.Name.Name} references {r.Name}, which is neither the BCL nor MediatR")
            .Distinct()
            .Order(StringComparer.Ordinal)];

    /// <summary>
    /// Contracts are data: every type is a public sealed record. Public enums are accepted too, as values
    /// inside those records: immutable, behaviourless, and better typed than strings. So are public
    /// interfaces (a port another module implements or a request declares, with no state) and public
    /// sealed attributes (a declaration a request carries, such as Activity's <c>[Audited]</c>).
    /// </summary>
    public static IReadOnlyList<string> TypesThatAreNotPublicSealedRecords(AssemblyDefinition contracts) =>
        TypesThatAreNotPublicSealedRecords(contracts.AllTypes());

    public static IReadOnlyList<string> TypesThatAreNotPublicSealedRecords(IEnumerable<TypeDefinition> types) =>
        [.. types
            .Where(t => !t.IsCompilerGenerated())
            .Select(t => (Type: t, Problems: ShapeProblems(t)))
            .Where(t => t.Problems.Count > 0)
            .Select(t => $"{t.Type.FullName} is not a public sealed record or public enum: {string.Join(", ", t.Problems)}")
            .Order(StringComparer.Ordinal)];

    private static List<string> ShapeProblems(TypeDefinition type)
    {
        var problems = new List<string>();
        if (!type.IsExternallyVisible())
        {
            problems.Add("not public");
        }

        if (type.IsEnum || type.IsInterface)
        {
            return problems;
        }

        // A static class of constants (e.g. Access's scope names) is vocabulary too: fields only, no behaviour.
        if (type.IsAbstract && type.IsSealed)
        {
            if (type.Methods.Any(m => !m.IsConstructor) || type.Properties.Count > 0)
            {
                problems.Add("a static class with members other than fields");
            }

            return problems;
        }

        if (type.BaseType?.FullName == "System.Attribute")
        {
            if (!type.IsSealed)
            {
                problems.Add("not sealed");
            }

            return problems;
        }

        if (!type.IsSealed)
        {
            problems.Add("not sealed");
        }

        if (!type.IsRecordClass())
        {
            problems.Add("not a record");
        }

        return problems;
    }
}
