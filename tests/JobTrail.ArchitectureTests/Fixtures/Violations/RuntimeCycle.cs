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

// A third, Gamma, publishes a notification of its own Contracts that Alpha handles, and asks Alpha:
// hearing Gamma makes Alpha depend on Gamma, so this is a cycle too.
namespace JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Gamma.Contracts
{
    internal sealed record GammaChanged(Guid Id) : INotification;
}

namespace JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Gamma
{
    internal sealed class GammaAsksAlpha(IMediator mediator)
    {
        public Task<int> AskAsync() => mediator.Send(new Alpha.Contracts.AskAlpha(Guid.Empty));

        public Task TellAsync() => mediator.Publish(new Contracts.GammaChanged(Guid.Empty));
    }
}

namespace JobTrail.ArchitectureTests.Fixtures.Violations.RuntimeCycle.Alpha.Hearing
{
    internal sealed class AlphaHearsGamma : INotificationHandler<Gamma.Contracts.GammaChanged>
    {
        public Task Handle(Gamma.Contracts.GammaChanged notification, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
