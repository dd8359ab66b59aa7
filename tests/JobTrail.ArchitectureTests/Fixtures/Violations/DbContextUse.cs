using Microsoft.EntityFrameworkCore;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.DbContextUse
{
    /// <summary>Read as a module whose neighbour owns <see cref="Neighbour.NeighbourDbContext"/>: using it breaks the rule.</summary>
    internal sealed class UsesAnotherModulesDbContext(Neighbour.NeighbourDbContext neighbour)
    {
        public int Tracked() => neighbour.ChangeTracker.Entries().Count();
    }

    internal sealed class OwnDbContext(DbContextOptions<OwnDbContext> options) : DbContext(options);

    internal sealed class UsesItsOwnDbContext(OwnDbContext own)
    {
        public int Tracked() => own.ChangeTracker.Entries().Count();
    }
}

namespace JobTrail.ArchitectureTests.Fixtures.Violations.Neighbour
{
    internal sealed class NeighbourDbContext(DbContextOptions<NeighbourDbContext> options) : DbContext(options);
}
