using System.Text;
using System.Text.RegularExpressions;
using JobTrail.ArchitectureTests.Analysis;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace JobTrail.ArchitectureTests.Rules;

/// <summary>
/// No module touches another's schema. A Mono.Cecil rule: NetArchTest sees the types a type uses, not the
/// SQL in its string literals and embedded migrations, which is where a schema is named.
/// </summary>
internal static partial class SchemaRules
{
    /// <summary>The schemas a module creates in its own migrations (embedded <c>.sql</c> resources).</summary>
    public static IReadOnlySet<string> OwnSchemas(AssemblyDefinition module) =>
        SqlResources(module)
            .SelectMany(r => CreateSchema().Matches(r.Sql).Select(m => m.Groups["schema"].Value))
            .ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Every place in the module's code or SQL that names an object of one of <paramref name="foreignSchemas"/>
    /// (<c>schema.table</c>, <c>"schema".table</c>); a bare word such as "access" in prose is not a use.
    /// </summary>
    public static IReadOnlyList<string> UsesOfForeignSchemas(AssemblyDefinition module, IReadOnlyCollection<string> foreignSchemas) =>
        UsesOfForeignSchemas(module.AllTypes(), SqlResources(module), foreignSchemas);

    public static IReadOnlyList<string> UsesOfForeignSchemas(
        IEnumerable<TypeDefinition> types, IEnumerable<(string Name, string Sql)> sqlResources, IReadOnlyCollection<string> foreignSchemas)
    {
        if (foreignSchemas.Count == 0)
        {
            return [];
        }

        var named = new Regex(
            $@"(?<![A-Za-z0-9_.])""?(?<schema>{string.Join('|', foreignSchemas.Select(Regex.Escape))})""?\.(?=[A-Za-z_""])",
            RegexOptions.CultureInvariant);
        var violations = new List<string>();
        foreach (var type in types)
        {
            foreach (var method in type.Methods.Where(m => m.HasBody))
            {
                foreach (var literal in method.Body.Instructions.Where(i => i.OpCode == OpCodes.Ldstr).Select(i => (string)i.Operand))
                {
                    violations.AddRange(named.Matches(literal).Select(m => $"{type.WrittenIn().FullName} names schema {m.Groups["schema"].Value}"));
                }
            }

            foreach (var constant in type.Fields.Where(f => f.HasConstant && f.Constant is string).Select(f => (string)f.Constant))
            {
                violations.AddRange(named.Matches(constant).Select(m => $"{type.WrittenIn().FullName} names schema {m.Groups["schema"].Value}"));
            }
        }

        foreach (var (name, sql) in sqlResources)
        {
            violations.AddRange(named.Matches(sql).Select(m => $"{name} names schema {m.Groups["schema"].Value}"));
        }

        return [.. violations.Distinct().Order(StringComparer.Ordinal)];
    }

    public static IEnumerable<(string Name, string Sql)> SqlResources(AssemblyDefinition module) =>
        module.Modules.SelectMany(m => m.Resources).OfType<EmbeddedResource>()
            .Where(r => r.Name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(r => (r.Name, Encoding.UTF8.GetString(r.GetResourceData())));

    [GeneratedRegex(@"create\s+schema\s+(if\s+not\s+exists\s+)?(?<schema>[a-z_][a-z0-9_]*)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex CreateSchema();
}
