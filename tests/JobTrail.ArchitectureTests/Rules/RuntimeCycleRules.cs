using JobTrail.ArchitectureTests.Analysis;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Rules;

/// <summary>
/// Run-time dependencies between modules: module A depends on module B when A's code uses a request
/// (<c>IRequest</c> or <c>IRequest&lt;T&gt;</c>) declared in B's Contracts, since B handles it, or a
/// notification (<c>INotification</c>) declared in B's Contracts, since A handles what B publishes.
/// The compile-time graph cannot show a cycle here (each module references only Contracts), so this
/// rule reads the messages themselves.
/// </summary>
internal static class RuntimeCycleRules
{
    private static readonly string[] MessageInterfaces = ["MediatR.IRequest", "MediatR.IRequest`1", "MediatR.INotification"];

    /// <summary>
    /// The modules <paramref name="module"/> sends requests to or hears notifications from: for each type it
    /// uses that is a request or a notification, <paramref name="contractModuleOf"/> names the module whose
    /// Contracts declare it (null: not a contract).
    /// </summary>
    public static IEnumerable<(string From, string To)> MessageEdges(
        string module, IEnumerable<TypeDefinition> types, Func<TypeReference, string?> contractModuleOf) =>
        types
            .SelectMany(TypeDependencies.Of)
            .Select(used => (Used: used, Owner: contractModuleOf(used)))
            .Where(use => use.Owner is not null && use.Owner != module && IsMessage(use.Used))
            .Select(use => (module, use.Owner!))
            .Distinct();

    /// <summary>Each cycle once, as <c>A -&gt; B -&gt; A</c> starting from its smallest module name.</summary>
    public static IReadOnlyList<string> Cycles(IEnumerable<(string From, string To)> edges)
    {
        var next = edges.Distinct().GroupBy(e => e.From, e => e.To)
            .ToDictionary(g => g.Key, g => g.Order(StringComparer.Ordinal).ToList(), StringComparer.Ordinal);
        var cycles = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var start in next.Keys)
        {
            // Only cycles whose smallest module is start: each cycle is reported once.
            Walk(start, [start]);

            void Walk(string at, List<string> path)
            {
                foreach (var to in next.GetValueOrDefault(at) ?? [])
                {
                    if (to == start)
                    {
                        cycles.Add(string.Join(" -> ", path.Append(start)));
                    }
                    else if (string.CompareOrdinal(to, start) > 0 && !path.Contains(to))
                    {
                        Walk(to, [.. path, to]);
                    }
                }
            }
        }

        return [.. cycles];
    }

    private static bool IsMessage(TypeReference type) =>
        type.Resolve() is { } definition && definition.AllInterfaces().Any(i => MessageInterfaces.Contains(i.DefinitionFullName()));
}
