using JobTrail.Modules.Access;
using JobTrail.Modules.RunnerJobs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.ModuleIsolation;

// Read as if this test assembly were a module, these two types reach into other modules' implementations.
// They are the only types in the test assembly that use a module implementation: keep it that way.

/// <summary>Uses the Access implementation through a member reference in its IL.</summary>
internal static class CallsAnotherModuleImplementation
{
    public static IServiceCollection Register(IServiceCollection services, IConfiguration configuration) =>
        services.AddAccessModule(configuration);
}

/// <summary>Names a RunnerJobs implementation type in a custom attribute argument only.</summary>
[NamesType(typeof(RunnerJobsModule))]
internal static class NamesAnotherModuleImplementationInAnAttribute;

[AttributeUsage(AttributeTargets.Class)]
internal sealed class NamesTypeAttribute(Type type) : Attribute
{
    public Type Type { get; } = type;
}
