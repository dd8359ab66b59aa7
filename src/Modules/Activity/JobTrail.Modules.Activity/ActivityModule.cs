using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Behaviors;
using JobTrail.BuildingBlocks.Persistence;
using JobTrail.Modules.Activity.Capture;
using JobTrail.Modules.Activity.Persistence;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.Modules.Activity;

public static class ActivityModule
{
    public static IServiceCollection AddActivityModule(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddModule(ActivityDbContext.Schema, typeof(ActivityModule).Assembly, migrationOrder: 50);
        services.AddModuleDbContext<ActivityDbContext>();
        services.AddScoped<ActivityRecorder>();
        services.AddScoped<IActivityCapture>(sp => sp.GetRequiredService<ActivityRecorder>());
        return services;
    }
}
