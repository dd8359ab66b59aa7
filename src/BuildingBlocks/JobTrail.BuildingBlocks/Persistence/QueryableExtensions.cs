using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.BuildingBlocks.Persistence;

public static class QueryableExtensions
{
    /// <summary>The one row <paramref name="predicate"/> picks by its id, or the slice's own 404.</summary>
    public static async Task<T> SingleOrNotFoundAsync<T>(
        this IQueryable<T> source, Expression<Func<T, bool>> predicate, Func<Exception> notFound, CancellationToken cancellationToken)
        where T : class =>
        await source.SingleOrDefaultAsync(predicate, cancellationToken) ?? throw notFound();
}
