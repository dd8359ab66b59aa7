using JobTrail.Modules.Access.Authentication;
using JobTrail.Modules.Access.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.Access.Features.RevokeApiKey;

/// <summary>
/// Revoking is idempotent: a key already revoked stays revoked, with its first revocation kept.
/// A key holding <c>system</c> may only be revoked by a key holding <c>system</c>.
/// </summary>
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

internal sealed class RevokeApiKeyHandler(AccessDbContext db, RequestContext context, TimeProvider clock, DbSession session, KeyRevocations revocations)
    : IRequestHandler<RevokeApiKeyCommand, MediatR.Unit>
{
    public async Task<MediatR.Unit> Handle(RevokeApiKeyCommand request, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.SingleOrDefaultAsync(k => k.Id == request.KeyId && k.WorkspaceId == request.WorkspaceId, cancellationToken)
            ?? throw new NotFoundException($"API key {request.KeyId} does not exist in workspace {request.WorkspaceId}.");
        // Without this, an admin of the bootstrap workspace could revoke the only key that creates workspaces.
        if (key.Scopes.Contains(Scopes.System, StringComparer.Ordinal) && !context.Scopes.Contains(Scopes.System))
        {
            throw new ForbiddenException(
                $"API key {request.KeyId} holds the '{Scopes.System}' scope; only a key with the '{Scopes.System}' scope may revoke it.",
                "missing_scope");
        }

        if (key.RevokedAt is null)
        {
            key.RevokedAt = clock.UtcNowMicros();
            key.RevokedBy = context.RequireActor();
            await db.SaveChangesAsync(cancellationToken);
        }

        // Also when it was revoked already: an announcement lost the first time gets another chance.
        session.OnCommitted(() => revocations.AnnounceAsync(key.Id));
        return MediatR.Unit.Value;
    }
}
