using MediatR;

namespace JobTrail.ArchitectureTests.Fixtures.Compliant.Contracts;

// Contracts that follow every convention: public sealed records, and a public enum used in one.

public sealed record FindFixture(Guid Id) : IRequest<FixtureSnapshot?>;

public sealed record FixtureSnapshot(Guid Id, FixtureKind Kind);

public enum FixtureKind
{
    Plain,
    Fancy,
}
