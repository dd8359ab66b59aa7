using FluentValidation;
using JobTrail.ArchitectureTests.Analysis;
using JobTrail.BuildingBlocks.Mediator;
using Mono.Cecil;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.ArchitectureTests.Rules;

internal static class RequestConventionRules
{
    private static readonly string CommandInterface = typeof(ICommand<>).FullName!;
    private static readonly string QueryInterface = typeof(IQuery<>).FullName!;
    private static readonly string ValidatorClass = typeof(AbstractValidator<>).FullName!;
    private static readonly string RequiresScope = typeof(RequiresScopeAttribute).FullName!;
    private static readonly string Audited = typeof(AuditedAttribute).FullName!;
    private static readonly string NotAudited = typeof(NotAuditedAttribute).FullName!;

    public static IReadOnlyList<TypeDefinition> Commands(IEnumerable<TypeDefinition> types) =>
        [.. types.Where(t => t.IsConcrete() && t.Implements(CommandInterface))];

    public static IReadOnlyList<TypeDefinition> Queries(IEnumerable<TypeDefinition> types) =>
        [.. types.Where(t => t.IsConcrete() && t.Implements(QueryInterface))];

    /// <summary>Every command has a validator (a concrete <c>AbstractValidator&lt;TheCommand&gt;</c>) in its own assembly.</summary>
    public static IReadOnlyList<string> CommandsWithoutValidator(AssemblyDefinition module) =>
        CommandsWithoutValidator(module.AllTypes());

    public static IReadOnlyList<string> CommandsWithoutValidator(IEnumerable<TypeDefinition> types)
    {
        var all = types.ToList();
        var validated = all
            .Where(t => t.IsConcrete())
            .SelectMany(t => t.SelfAndBaseTypes())
            .OfType<GenericInstanceType>()
            .Where(b => b.ElementType.FullName == ValidatorClass)
            .Select(b => b.GenericArguments[0].FullName)
            .ToHashSet(StringComparer.Ordinal);
        return [.. Commands(all)
            .Where(c => !validated.Contains(c.FullName))
            .Select(c => $"{c.FullName} is a command without a validator")
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>Every command and query declares, with <c>[RequiresScope]</c>, one of the scopes that exist.</summary>
    public static IReadOnlyList<string> RequestsWithoutKnownScope(AssemblyDefinition module, IReadOnlySet<string> knownScopes) =>
        RequestsWithoutKnownScope(module.AllTypes(), knownScopes);

    public static IReadOnlyList<string> RequestsWithoutKnownScope(IEnumerable<TypeDefinition> types, IReadOnlySet<string> knownScopes)
    {
        var all = types.ToList();
        var violations = new List<string>();
        foreach (var request in Commands(all).Concat(Queries(all)).Distinct())
        {
            var attribute = request.FindAttribute(RequiresScope);
            if (attribute is null)
            {
                violations.Add($"{request.FullName} has no [RequiresScope]");
            }
            else if (attribute.ConstructorArguments[0].Value is not string scope || !knownScopes.Contains(scope))
            {
                violations.Add($"{request.FullName} requires the unknown scope '{attribute.ConstructorArguments[0].Value}'");
            }
        }

        return [.. violations.Order(StringComparer.Ordinal)];
    }

    /// <summary>Every command says whether the activity log captures it: <c>[Audited]</c> or <c>[NotAudited]</c>, not both.</summary>
    public static IReadOnlyList<string> CommandsWithoutAuditDeclaration(AssemblyDefinition module) =>
        CommandsWithoutAuditDeclaration(module.AllTypes());

    public static IReadOnlyList<string> CommandsWithoutAuditDeclaration(IEnumerable<TypeDefinition> types) =>
        [.. Commands(types)
            .Select(c => (Command: c, Audited: c.HasAttribute(Audited), NotAudited: c.HasAttribute(NotAudited)))
            .Where(c => c.Audited == c.NotAudited)
            .Select(c => c.Audited
                ? $"{c.Command.FullName} declares both [Audited] and [NotAudited]"
                : $"{c.Command.FullName} declares neither [Audited] nor [NotAudited]")
            .Order(StringComparer.Ordinal)];
}
