using Mapster;

namespace JobTrail.BuildingBlocks.Mapping;

/// <summary>
/// A module's response mapping: one <see cref="TypeAdapterConfig"/> per module, in which every response member
/// must have a source, compiled when the module is registered (<c>AddModule(…, mapping:)</c>) so a renamed
/// column or a response field without a source stops start-up instead of failing its first request.
/// </summary>
public static class ModuleMapping
{
    public static TypeAdapterConfig Create(Action<TypeAdapterConfig> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        var config = new TypeAdapterConfig { RequireDestinationMemberSource = true };
        configure(config);
        return config;
    }

    /// <summary>
    /// A module whose responses come from one stored type: <typeparamref name="TSource"/> to
    /// <typeparamref name="TResponse"/>, with <paramref name="map"/> for the members that are more than a copy.
    /// </summary>
    public static TypeAdapterConfig For<TSource, TResponse>(Action<TypeAdapterSetter<TSource, TResponse>>? map = null) =>
        Create(config =>
        {
            var setter = config.NewConfig<TSource, TResponse>();
            map?.Invoke(setter);
        });
}
