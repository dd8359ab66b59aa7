using FluentValidation;
using JobTrail.BuildingBlocks;
using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Http;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.Access.Persistence;
using MediatR;
using Microsoft.EntityFrameworkCore;

namespace JobTrail.Modules.Access.Features.RevokeApiKey;

/// <summary>Revoking is idempotent: a key already revoked stays revoked, with its first revocation kept.</summary>
[RequiresScope(Scopes.Admin)]
[Audited("api_key.revoked", "api_key")]
internal sealed record RevokeApiKeyCommand(Guid WorkspaceId, Guid KeyId)
    : ICommand<MediatR.Unit>, ITargetsWorkspace, IAuditedCommand<MediatR.Unit>
{
    public Guid TargetWorkspaceId => WorkspaceId;

    public string? GetAuditEntityId(MediatR.Unit response) => KeyId.ToString();
}

internal sealed class RevokeApiKeyValidator : AbstractValidator<RevokeApiKeyCommand>
{
    public RevokeApiKeyValidator()
    {
        RuleFor(x => x.KeyId).NotEmpty().WithMessage("'keyId' must be a key id.");
    }
}

internal sealed class RevokeApiKeyHandler(AccessDbContext db, RequestContext context, TimeProvider clock)
    : IRequestHandler<RevokeApiKeyCommand, MediatR.Unit>
{
    public async Task<MediatR.Unit> Handle(RevokeApiKeyCommand request, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == request.KeyId && k.WorkspaceId == request.WorkspaceId, cancellationToken)
            ?? throw new NotFoundException($"API key {request.KeyId} does not exist in workspace {request.WorkspaceId}.");
        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.UtcNowMicros();
            key.RevokedBy = context.RequireActor();
            await db.SaveChangesAsync(cancellationToken);
        }

        return MediatR.Unit.Value;
    }
}
