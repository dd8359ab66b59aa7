namespace JobTrail.ArchitectureTests.Fixtures.Violations.ContractShapes;

// Read as contracts: three types that are not public sealed records, next to two that are fine.

public sealed class ContractClass
{
    public Guid Id { get; init; }
}

public record UnsealedContract(Guid Id);

internal sealed record InternalContract(Guid Id);

public sealed record ProperContract(Guid Id, ProperStatus Status);

public enum ProperStatus
{
    Active,
    Done,
}
