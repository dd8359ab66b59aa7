using Microsoft.EntityFrameworkCore.Diagnostics;

namespace JobTrail.Modules.Activity.Persistence;

/// <summary>
/// Like <see cref="ModuleDbContextRegistration.AddModuleDbContext{TContext}"/> (the request's
/// connection and transaction, the same interceptors), but pooled: the capture runs on every
/// command, and a new DbContext spends as long initialising its services (~0.3 ms) as the INSERT
/// takes. A pooled context keeps them; each lease is bound to the current session.
/// </summary>
internal static class ActivityDbContextRegistration
{
    public static IServiceCollection AddActivityDbContext(this IServiceCollection services)
    {
        services.AddPooledDbContextFactory<ActivityDbContext>((sp, options) => options
            .UseNpgsql() // no connection of its own: each lease gets the session's
            .UseLoggerFactory(sp.GetRequiredService<ILoggerFactory>())
                // A failed command is reported once, by the pipeline (the problem answer, the outage tracker): not by EF too.
                .ConfigureWarnings(w => w.Ignore(RelationalEventId.CommandError, CoreEventId.QueryIterationFailed, CoreEventId.SaveChangesFailed))
            .AddInterceptors(SessionPreambleInterceptor.Instance)
            .AddInterceptors(sp.GetServices<IInterceptor>()));
        services.AddScoped(sp => Lease(sp.GetRequiredService<IDbContextFactory<ActivityDbContext>>(), sp.GetRequiredService<DbSession>()));
        return services;
    }

    private static ActivityDbContext Lease(IDbContextFactory<ActivityDbContext> factory, DbSession session)
    {
        var connection = session.ConnectionForInterceptedCommands;
        var transaction = session.TransactionForInterceptedCommands;
        var context = factory.CreateDbContext();
        context.Database.SetDbConnection(connection);
        context.Database.UseTransaction(transaction);
        // Reset to their defaults when a lease returns to the pool, so set on every lease.
        context.Database.AutoTransactionBehavior = AutoTransactionBehavior.Never;
        context.Database.AutoSavepointsEnabled = false; // the capture is one INSERT: no savepoint around it
        context.WorkspaceId = session.WorkspaceId;
        if (session.IsReadOnly)
        {
            context.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.NoTracking;
        }

        return context;
    }
}
