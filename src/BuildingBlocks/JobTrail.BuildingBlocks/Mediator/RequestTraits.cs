using System.Reflection;

namespace JobTrail.BuildingBlocks.Mediator;

/// <summary>What the pipeline needs to know about a request type, read once per type.</summary>
public static class RequestTraits<TRequest>
{
    public static readonly bool IsCommand = Implements(typeof(ICommand<>));
    public static readonly bool IsQuery = Implements(typeof(IQuery<>));
    public static readonly string? RequiredScope = typeof(TRequest).GetCustomAttribute<RequiresScopeAttribute>()?.Scope;
    public static readonly string Name = typeof(TRequest).Name;
    public static readonly bool IsEmit = typeof(TRequest).IsDefined(typeof(EmitRequestAttribute), inherit: false);
    public static readonly bool ReadsFromReplica = IsQuery && typeof(TRequest).IsDefined(typeof(ReadsFromReplicaAttribute), inherit: false);

    private static bool Implements(Type open) =>
        typeof(TRequest).GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == open);
}

/// <summary>Marks a runner's emit, whose duration is <c>jobtrail_emit_duration_seconds</c>.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class EmitRequestAttribute : Attribute;

/// <summary>
/// Marks a list or audit query that may read from the read replica (<c>JobTrail:PostgresReplica</c>)
/// and so may lag the primary by the replication delay. Never on commands, single-item gets, SSE
/// backfill, chain verification or anything a command reads.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class ReadsFromReplicaAttribute : Attribute;
