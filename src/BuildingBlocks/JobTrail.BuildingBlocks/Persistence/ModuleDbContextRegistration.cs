using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace JobTrail.BuildingBlocks.Persistence;

public static class ModuleDbContextRegistration
{
    /// <summary>
    /// Registers a module DbContext that runs on the request's <see cref="DbSession"/> connection
    /// and joins its transaction, so every module touched by one command commits together.
    /// </summary>
    public static IServiceCollection AddModuleDbContext<TContext>(this IServiceCollection services)
        where TContext : DbContext
    {
        services.AddScoped(sp =>
        {
            var session = sp.GetRequiredService<DbSession>();
            var options = new DbContextOptionsBuilder<TContext>()
                .UseNpgsql(session.ConnectionForInterceptedCommands)
                .UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>())
                // A failed command is reported once, by the pipeline (the problem answer, the outage tracker): not by EF too.
                .ConfigureWarnings(w => w.Ignore(RelationalEventId.CommandError, CoreEventId.QueryIterationFailed, CoreEventId.SaveChangesFailed))
                .AddInterceptors(SessionPreambleInterceptor.Instance) // first: later interceptors see what is sent
                .AddInterceptors(sp.GetServices<IInterceptor>())
                .Options;
            var context = ActivatorUtilities.CreateInstance<TContext>(sp, options);
            context.Database.UseTransaction(session.TransactionForInterceptedCommands);
            context.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
            if (session.IsReadOnly)
            {
                context.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.NoTracking;
            }

            return context;
        });
        return services;
    }
}
