using MediatR;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.ArchitectureTests.Fixtures.Violations.PublicInfrastructure;

// A public handler, a public handler through a MediatR base class and a public DbContext, next to
// internal ones that are fine.

public sealed record Ping : IRequest<string>;

public sealed record Notify : IRequest;

public sealed class PublicPingHandler : IRequestHandler<Ping, string>
{
    public Task<string> Handle(Ping request, CancellationToken cancellationToken) => Task.FromResult("pong");
}

public sealed class PublicNotifyHandler : AsyncRequestHandler<Notify>
{
    protected override Task Handle(Notify request, CancellationToken cancellationToken) => Task.CompletedTask;
}

public sealed class PublicDbContext(DbContextOptions<PublicDbContext> options) : DbContext(options);

internal sealed class InternalPingHandler : IRequestHandler<Ping, string>
{
    public Task<string> Handle(Ping request, CancellationToken cancellationToken) => Task.FromResult("pong");
}

internal sealed class InternalDbContext(DbContextOptions<InternalDbContext> options) : DbContext(options);
