using MediatR;

// Two make-believe modules, Alpha and Beta, each asking the other through its Contracts: a run-time cycle.
namespace JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Alpha.Contracts
{
    internal sealed record AskAlpha(Guid Id) : IRequest<int>;
}

namespace JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Beta.Contracts
{
    internal sealed record AskBeta(Guid Id) : IRequest;
}

namespace JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Alpha
{
    internal sealed class AlphaAsksBeta(IMediator mediator)
    {
        public Task RunAsync() => mediator.Send(new Beta.Contracts.AskBeta(Guid.Empty));
    }
}

namespace JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Beta
{
    internal sealed class BetaAsksAlpha(IMediator mediator)
    {
        public Task<int> RunAsync() => mediator.Send(new Alpha.Contracts.AskAlpha(Guid.Empty));
    }
}
