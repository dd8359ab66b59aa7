using FluentValidation;
using JobTrail.BuildingBlocks.Behaviors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks.Mediator;

/// <summary>The two places in the fixed pipeline where a module may add a behavior of its own.</summary>
public enum PipelineStage
{
    /// <summary>Just inside logging: sees every refusal (validation, authorization, state rule) after its transaction rolled back.</summary>
    Refusals,

    /// <summary>Innermost, inside the transaction: runs after the handler succeeded and commits with it.</summary>
    InTransaction,
}

/// <summary>A module's open generic behavior for one <see cref="PipelineStage"/>.</summary>
public sealed record PipelineStageBehavior(PipelineStage Stage, Type OpenBehavior);

public static class MediatorRegistration
{
    /// <summary>Declares a module's behavior for a stage; call it before <see cref="AddJobTrailMediator"/>.</summary>
    public static IServiceCollection AddPipelineStage(this IServiceCollection services, PipelineStage stage, Type openBehavior)
    {
        if (!openBehavior.IsGenericTypeDefinition || !openBehavior.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IPipelineBehavior<,>)))
        {
            throw new ArgumentException($"{openBehavior.Name} is not an open generic IPipelineBehavior<,>.", nameof(openBehavior));
        }

        services.AddSingleton(new PipelineStageBehavior(stage, openBehavior));
        return services;
    }

    /// <summary>
    /// Registers MediatR 5 with Microsoft DI: the mediator, every request and notification handler
    /// found in the module assemblies, and the pipeline behaviors in their fixed order (first registered = outermost):
    /// Logging, module Refusals stages, Validation, Authorization, Transaction, module InTransaction stages.
    /// Each module registers its own validators (<c>AddModule&lt;TDbContext&gt;</c>, or <c>AddValidatorsFromAssembly</c> in its <c>Add…Module</c>).
    /// </summary>
    public static IServiceCollection AddJobTrailMediator(this IServiceCollection services)
    {
        var scanned = services.ModuleAssemblies().ToArray();
        var stages = services
            .Where(d => d.ServiceType == typeof(PipelineStageBehavior) && d.ImplementationInstance is PipelineStageBehavior)
            .Select(d => (PipelineStageBehavior)d.ImplementationInstance!)
            .ToList();
        // One message per field: the first rule that fails says what to fix.
        ValidatorOptions.Global.DefaultRuleLevelCascadeMode = CascadeMode.Stop;
        services.AddScoped<ServiceFactory>(sp => sp.GetRequiredService);
        services.AddScoped<IMediator, MediatR.Mediator>();

        services.Scan(scan => scan.FromAssemblies(scanned)
            .AddClasses(c => c.AssignableTo(typeof(IRequestHandler<,>)), publicOnly: false)
            .AsImplementedInterfaces()
            .WithScopedLifetime());
        // A module hears another's Contracts notifications (the event log subscribes to job and step changes).
        services.Scan(scan => scan.FromAssemblies(scanned)
            .AddClasses(c => c.AssignableTo(typeof(INotificationHandler<>)), publicOnly: false)
            .AsImplementedInterfaces()
            .WithScopedLifetime());

        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(LoggingBehavior<,>));
        AddStage(services, stages, PipelineStage.Refusals);
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(ValidationBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(AuthorizationBehavior<,>));
        services.AddScoped(typeof(IPipelineBehavior<,>), typeof(TransactionBehavior<,>));
        AddStage(services, stages, PipelineStage.InTransaction);
        return services;
    }

    private static void AddStage(IServiceCollection services, List<PipelineStageBehavior> stages, PipelineStage stage)
    {
        foreach (var behavior in stages.Where(s => s.Stage == stage))
        {
            services.AddScoped(typeof(IPipelineBehavior<,>), behavior.OpenBehavior);
        }
    }
}
