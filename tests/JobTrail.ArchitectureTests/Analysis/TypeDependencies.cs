using Mono.Cecil;
using Mono.Cecil.Cil;

namespace JobTrail.ArchitectureTests.Analysis;

/// <summary>
/// Every type a type uses, read from its metadata and IL: base type, interfaces, generic constraints,
/// custom attributes (including <c>typeof</c> arguments), fields, properties, events, signatures, locals,
/// catch clauses and the types and members its instructions refer to.
/// </summary>
internal static class TypeDependencies
{
    /// <summary>The named types (no arrays, pointers or generic instances: their parts instead) <paramref name="type"/> uses.</summary>
    public static IEnumerable<TypeReference> Of(TypeDefinition type)
    {
        var used = new List<TypeReference>();
        void Add(TypeReference? reference) => used.AddRange(NamedTypes(reference));

        Add(type.BaseType);
        foreach (var implementation in type.Interfaces)
        {
            Add(implementation.InterfaceType);
            AddAttributes(implementation, used);
        }

        AddAttributes(type, used);
        AddGenericParameters(type, used);

        foreach (var field in type.Fields)
        {
            Add(field.FieldType);
            AddAttributes(field, used);
        }

        foreach (var property in type.Properties)
        {
            Add(property.PropertyType);
            AddAttributes(property, used);
        }

        foreach (var @event in type.Events)
        {
            Add(@event.EventType);
            AddAttributes(@event, used);
        }

        foreach (var method in type.Methods)
        {
            AddMethod(method, used);
        }

        return used;
    }

    /// <summary>The types an assembly's and its modules' own attributes use.</summary>
    public static IEnumerable<TypeReference> OfAssemblyAttributes(AssemblyDefinition assembly)
    {
        var used = new List<TypeReference>();
        AddAttributes(assembly, used);
        foreach (var module in assembly.Modules)
        {
            AddAttributes(module, used);
        }

        return used;
    }

    /// <summary>The assembly a named type comes from; its own assembly when defined in the module being read.</summary>
    public static string AssemblyOf(TypeReference type) => type.Scope switch
    {
        AssemblyNameReference reference => reference.Name,
        ModuleDefinition module => module.Assembly.Name.Name,
        var other => other.Name,
    };

    private static void AddMethod(MethodDefinition method, List<TypeReference> used)
    {
        used.AddRange(NamedTypes(method.ReturnType));
        AddAttributes(method.MethodReturnType, used);
        AddAttributes(method, used);
        AddGenericParameters(method, used);
        foreach (var parameter in method.Parameters)
        {
            used.AddRange(NamedTypes(parameter.ParameterType));
            AddAttributes(parameter, used);
        }

        foreach (var overridden in method.Overrides)
        {
            AddMember(overridden, used);
        }

        if (!method.HasBody)
        {
            return;
        }

        foreach (var variable in method.Body.Variables)
        {
            used.AddRange(NamedTypes(variable.VariableType));
        }

        foreach (var handler in method.Body.ExceptionHandlers)
        {
            used.AddRange(NamedTypes(handler.CatchType));
        }

        foreach (var instruction in method.Body.Instructions)
        {
            switch (instruction.Operand)
            {
                case TypeReference operandType:
                    used.AddRange(NamedTypes(operandType));
                    break;
                case MemberReference member:
                    AddMember(member, used);
                    break;
                case CallSite callSite:
                    used.AddRange(NamedTypes(callSite.ReturnType));
                    used.AddRange(callSite.Parameters.SelectMany(p => NamedTypes(p.ParameterType)));
                    break;
            }
        }
    }

    /// <summary>A method or field used by reference: its declaring type and its signature's types.</summary>
    private static void AddMember(MemberReference member, List<TypeReference> used)
    {
        used.AddRange(NamedTypes(member.DeclaringType));
        switch (member)
        {
            case GenericInstanceMethod generic:
                used.AddRange(generic.GenericArguments.SelectMany(NamedTypes));
                AddMember(generic.ElementMethod, used);
                break;
            case MethodReference method:
                used.AddRange(NamedTypes(method.ReturnType));
                used.AddRange(method.Parameters.SelectMany(p => NamedTypes(p.ParameterType)));
                break;
            case FieldReference field:
                used.AddRange(NamedTypes(field.FieldType));
                break;
        }
    }

    private static void AddGenericParameters(IGenericParameterProvider provider, List<TypeReference> used)
    {
        foreach (var parameter in provider.GenericParameters)
        {
            AddAttributes(parameter, used);
            foreach (var constraint in parameter.Constraints)
            {
                used.AddRange(NamedTypes(constraint.ConstraintType));
                AddAttributes(constraint, used);
            }
        }
    }

    private static void AddAttributes(ICustomAttributeProvider provider, List<TypeReference> used)
    {
        if (!provider.HasCustomAttributes)
        {
            return;
        }

        foreach (var attribute in provider.CustomAttributes)
        {
            AddMember(attribute.Constructor, used);
            var arguments = attribute.ConstructorArguments
                .Concat(attribute.Fields.Select(f => f.Argument))
                .Concat(attribute.Properties.Select(p => p.Argument));
            foreach (var argument in arguments)
            {
                AddAttributeArgument(argument, used);
            }
        }
    }

    /// <summary>An attribute argument's type, and the type it names when it is a <c>typeof</c>.</summary>
    private static void AddAttributeArgument(CustomAttributeArgument argument, List<TypeReference> used)
    {
        used.AddRange(NamedTypes(argument.Type));
        switch (argument.Value)
        {
            case TypeReference named:
                used.AddRange(NamedTypes(named));
                break;
            case CustomAttributeArgument boxed:
                AddAttributeArgument(boxed, used);
                break;
            case CustomAttributeArgument[] array:
                foreach (var element in array)
                {
                    AddAttributeArgument(element, used);
                }

                break;
        }
    }

    /// <summary>The named types in a type: <c>List&lt;Foo[]&gt;</c> gives <c>List`1</c> and <c>Foo</c>.</summary>
    private static IEnumerable<TypeReference> NamedTypes(TypeReference? type) => type switch
    {
        null or GenericParameter => [],
        GenericInstanceType generic => NamedTypes(generic.ElementType).Concat(generic.GenericArguments.SelectMany(NamedTypes)),
        FunctionPointerType pointer => NamedTypes(pointer.ReturnType).Concat(pointer.Parameters.SelectMany(p => NamedTypes(p.ParameterType))),
        RequiredModifierType required => NamedTypes(required.ModifierType).Concat(NamedTypes(required.ElementType)),
        OptionalModifierType optional => NamedTypes(optional.ModifierType).Concat(NamedTypes(optional.ElementType)),
        TypeSpecification specification => NamedTypes(specification.ElementType),
        _ => [type],
    };
}
