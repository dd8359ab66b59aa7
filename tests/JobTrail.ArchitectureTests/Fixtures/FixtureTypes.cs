using JobTrail.ArchitectureTests.Analysis;
using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Fixtures;

internal static class FixtureTypes
{
    /// <summary>The fixture types declared in <typeparamref name="TAnchor"/>'s namespace, with their nested types.</summary>
    public static IReadOnlyList<TypeDefinition> InNamespaceOf<TAnchor>()
    {
        var @namespace = typeof(TAnchor).Namespace;
        return [.. BuiltAssemblies.Tests.AllTypes().Where(t => Outermost(t).Namespace == @namespace)];
    }

    private static TypeDefinition Outermost(TypeDefinition type) =>
        type.DeclaringType is { } outer ? Outermost(outer) : type;
}
