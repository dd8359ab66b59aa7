using Mono.Cecil;

namespace JobTrail.ArchitectureTests.Analysis;

/// <summary>Questions the rules ask about a type, answered from its metadata.</summary>
internal static class TypeDefinitionExtensions
{
    private const string CompilerGeneratedAttribute = "System.Runtime.CompilerServices.CompilerGeneratedAttribute";

    /// <summary>Every type of the assembly, nested ones included.</summary>
    public static IEnumerable<TypeDefinition> AllTypes(this AssemblyDefinition assembly) =>
        assembly.Modules.SelectMany(m => m.GetTypes());

    /// <summary>Visible from another assembly: public, or nested public/protected in such a type.</summary>
    public static bool IsExternallyVisible(this TypeDefinition type) =>
        type.IsPublic
        || ((type.IsNestedPublic || type.IsNestedFamily || type.IsNestedFamilyOrAssembly) && type.DeclaringType.IsExternallyVisible());

    /// <summary>
    /// Closures, state machines, anonymous types, embedded attributes, <c>&lt;Module&gt;</c>, and the nested
    /// marker types of C# 14 extension blocks (public, but without [CompilerGenerated]). A file-local type
    /// (<c>&lt;File&gt;F…__Name</c>) is not: someone wrote it.
    /// </summary>
    public static bool IsCompilerGenerated(this TypeDefinition type) =>
        type.HasAttribute(CompilerGeneratedAttribute)
        || type.Name == "<Module>"
        || (type.DeclaringType is { } outer && (type.Name.StartsWith('<') || outer.IsCompilerGenerated()));

    /// <summary>The type a closure or state machine was written in (<c>Program</c> for <c>Program/&lt;&lt;Main&gt;$&gt;d__0</c>).</summary>
    public static TypeDefinition WrittenIn(this TypeDefinition type) =>
        type.IsCompilerGenerated() && type.DeclaringType is { } outer ? outer.WrittenIn() : type;

    public static bool IsStaticClass(this TypeDefinition type) => type.IsClass && type.IsAbstract && type.IsSealed;

    /// <summary>A class or struct that can be instantiated: not an interface, not abstract, not static.</summary>
    public static bool IsConcrete(this TypeDefinition type) => !type.IsInterface && !type.IsAbstract;

    /// <summary>A C# record class: the compiler gives it a <c>&lt;Clone&gt;$</c> method and an <c>EqualityContract</c>.</summary>
    public static bool IsRecordClass(this TypeDefinition type) =>
        type.IsClass && !type.IsValueType
        && (type.Methods.Any(m => m.Name == "<Clone>$") || type.Properties.Any(p => p.Name == "EqualityContract"));

    public static bool HasAttribute(this TypeDefinition type, string attributeFullName) =>
        type.CustomAttributes.Any(a => a.AttributeType.FullName == attributeFullName);

    public static CustomAttribute? FindAttribute(this TypeDefinition type, string attributeFullName) =>
        type.CustomAttributes.FirstOrDefault(a => a.AttributeType.FullName == attributeFullName);

    /// <summary>Whether the type implements the interface (open generic or not), directly or through a base type.</summary>
    public static bool Implements(this TypeDefinition type, string interfaceFullName) =>
        type.AllInterfaces().Any(i => i.DefinitionFullName() == interfaceFullName);

    /// <summary>Whether the type derives from the class (open generic or not), directly or not.</summary>
    public static bool DerivesFrom(this TypeDefinition type, string classFullName) =>
        type.SelfAndBaseTypes().Skip(1).Any(t => t.DefinitionFullName() == classFullName);

    /// <summary>
    /// The type and its base types up to <see cref="object"/>, each with its generic arguments in terms
    /// of the starting type: for <c>V : Base&lt;Cmd&gt;</c>, <c>Base&lt;T&gt; : AbstractValidator&lt;T&gt;</c>
    /// this yields <c>AbstractValidator&lt;Cmd&gt;</c>.
    /// </summary>
    public static IEnumerable<TypeReference> SelfAndBaseTypes(this TypeDefinition type)
    {
        TypeReference current = type;
        while (true)
        {
            yield return current;
            var baseType = current.ResolveOrThrow().BaseType;
            if (baseType is null)
            {
                yield break;
            }

            current = baseType.WithArgumentsOf(current);
        }
    }

    /// <summary>Every interface the type implements, through its base types and other interfaces too.</summary>
    public static IReadOnlyList<TypeReference> AllInterfaces(this TypeDefinition type)
    {
        var found = new Dictionary<string, TypeReference>(StringComparer.Ordinal);
        var pending = new Stack<TypeReference>(type.SelfAndBaseTypes());
        while (pending.TryPop(out var current))
        {
            foreach (var implementation in current.ResolveOrThrow().Interfaces)
            {
                var @interface = implementation.InterfaceType.WithArgumentsOf(current);
                if (found.TryAdd(@interface.FullName, @interface))
                {
                    pending.Push(@interface);
                }
            }
        }

        return [.. found.Values];
    }

    /// <summary><c>MediatR.IRequestHandler`2</c> for <c>IRequestHandler&lt;A, B&gt;</c>.</summary>
    public static string DefinitionFullName(this TypeReference type) =>
        type is GenericInstanceType generic ? generic.ElementType.FullName : type.FullName;

    public static TypeDefinition ResolveOrThrow(this TypeReference type) =>
        type.Resolve() ?? throw new InvalidOperationException($"Cannot resolve {type.FullName} from {type.Scope.Name}.");

    /// <summary>Replaces the generic parameters of <paramref name="context"/>'s definition by its arguments.</summary>
    private static TypeReference WithArgumentsOf(this TypeReference type, TypeReference context)
    {
        if (context is not GenericInstanceType instance)
        {
            return type;
        }

        switch (type)
        {
            case GenericParameter { Type: GenericParameterType.Type } parameter:
                return instance.GenericArguments[parameter.Position];
            case GenericInstanceType generic:
                var substituted = new GenericInstanceType(generic.ElementType);
                foreach (var argument in generic.GenericArguments)
                {
                    substituted.GenericArguments.Add(argument.WithArgumentsOf(context));
                }

                return substituted;
            default:
                return type;
        }
    }
}
