using System.Reflection;
using FluentValidation;
using JobTrail.Modules.Access;
using JobTrail.Modules.Activity;
using JobTrail.Modules.JobEvents;
using JobTrail.Modules.JobSteps;
using JobTrail.Modules.RunnerJobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.IntegrationTests.Platform;

/// <summary>Each module registers its own (internal) validators; the mediator registration no longer scans for them.</summary>
public sealed class ValidatorRegistrationTests
{
    public static TheoryData<string> Modules => ["Access", "Activity", "JobEvents", "JobSteps", "RunnerJobs"];

    [Theory]
    [MemberData(nameof(Modules))]
    public void Each_module_registers_every_validator_of_its_assembly_as_a_singleton(string module)
    {
        var services = new ServiceCollection();
        var configuration = new ConfigurationBuilder().Build();
        var assembly = module switch
        {
            "Access" => Register(services.AddAccessModule(configuration), typeof(AccessModule)),
            "Activity" => Register(services.AddActivityModule(configuration), typeof(ActivityModule)),
            "JobEvents" => Register(services.AddJobEventsModule(configuration), typeof(JobEventsModule)),
            "JobSteps" => Register(services.AddJobStepsModule(configuration), typeof(JobStepsModule)),
            _ => Register(services.AddRunnerJobsModule(configuration), typeof(RunnerJobsModule)),
        };

        var validators = assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && ValidatedType(t) is not null)
            .ToList();
        Assert.NotEmpty(validators);
        Assert.All(validators, validator => Assert.Contains(services, d =>
            d.ServiceType == typeof(IValidator<>).MakeGenericType(ValidatedType(validator)!)
            && d.ImplementationType == validator
            && d.Lifetime == ServiceLifetime.Singleton));
    }

    private static Assembly Register(IServiceCollection _, Type module) => module.Assembly;

    private static Type? ValidatedType(Type type)
    {
        for (var current = type.BaseType; current is not null; current = current.BaseType)
        {
            if (current.IsGenericType && current.GetGenericTypeDefinition() == typeof(AbstractValidator<>))
            {
                return current.GetGenericArguments()[0];
            }
        }

        return null;
    }
}
