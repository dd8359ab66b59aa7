using FluentValidation;
using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Behaviors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks.Mediator;

public static class MediatorRegistration
{
    /// <summary>
    /// Registers MediatR 5 with Microsoft DI: the mediator, every handler found in the module
    /// assemblies, and the pipeline behaviors in their fixed order (first registered = outermost).
    /// Each module registers its own validators (<c>AddValidatorsFromAssembly</c> in its <c>Add…Module</c>).
    /// </summary>
    public static IServiceCollection AddJobTrailMediator(this IServiceCollection services)
    {
        var scanned = services.ModuleAssemblies().ToArray();
        // One message per field: the first rule that fails says what to fix.
        ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;
        services.AddScoped<ServiceFactory>(sp => sp.GetRequiredService);
        services.AddScoped<IMediator, MediatR.Mediator>();

        services.Scan(scan => scan.FromAssemblies(scanned)
            .AddClasses(c => c.AssignableTo(typeof(IRequestHandler<,>)), publicOnly: false)
            .AsImplementedInterfaces()
            .WithScopedLifetime());

        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(LoggingBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(RefusalCaptureBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(AuthorizationBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(TransactionBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(ActivityCaptureBehavior<,>));
        return services;
    }
}
