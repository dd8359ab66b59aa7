using JobTrail.Modules.Access.Persistence;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.Access.Features.CreateApiKey;

internal sealed record CreateApiKeyBody(string? Name, string? ActorId, string[]? Scopes);

/// <summary>The plaintext <see cref="Key"/> is returned this once and never stored.</summary>
internal sealed record CreatedApiKeyResponse(Guid Id, string Key, string Name, string ActorId, string[] Scopes, DateTime CreatedAt);

[RequiresScope(JobTrail.Modules.Access.Contracts.Scopes.Admin)]
[Audited("api_key.created", "api_key")]
internal sealed record CreateApiKeyCommand(Guid WorkspaceId, string? Name, string? ActorId, string[]? Scopes)
    : ICommand<CreatedApiKeyResponse>, ITargetsWorkspace, IAuditedCommand<CreatedApiKeyResponse>
{
    public Guid TargetWorkspaceId => WorkspaceId;

    public string? GetAuditEntityId(CreatedApiKeyResponse? response) => response?.Id.ToString();

    public IReadOnlyDictionary<string, object?>? GetAuditMetadata(CreatedApiKeyResponse? response) =>
        new Dictionary<string, object?> { ["name"] = Name, ["keyActorId"] = ActorId, ["scopes"] = Scopes };
}

internal sealed class CreateApiKeyValidator : AbstractValidator<CreateApiKeyCommand>
{
    /// <summary>A list bound, not a count of distinct scopes: repeats are folded when the key is stored.</summary>
    public const int MaxScopes = 16;

    public CreateApiKeyValidator()
    {
        RuleFor(x => x.Name).NotEmpty().WithMessage("'name' is required.")
            .MaximumLength(200).WithMessage("'name' must be at most 200 characters.");
        RuleFor(x => x.ActorId).NotEmpty().WithMessage("'actorId' is required.")
            .MaximumLength(200).WithMessage("'actorId' must be at most 200 characters.")
            .Must(a => !ReservedActors.IsReserved(a))
            .WithMessage($"'actorId' may not start with '{ReservedActors.SystemPrefix}': that kind is reserved for the service itself.")
            .Matches(@"^[A-Za-z][A-Za-z0-9_.-]*:[A-Za-z0-9_.@:/+-]+\z")
            .WithMessage("'actorId' must look like '<kind>:<id>', e.g. 'runner:build-7' or 'user:42'.");
        RuleFor(x => x.Scopes).NotEmpty().WithMessage("'scopes' must name at least one scope.")
            .Must(s => s!.Length <= MaxScopes).WithMessage($"'scopes' may hold at most {MaxScopes} entries.");
        RuleForEach(x => x.Scopes).Must(s => s is not null && JobTrail.Modules.Access.Contracts.Scopes.Grantable.Contains(s))
            .WithMessage((_, s) => $"'{s}' is not a grantable scope; use {string.Join(", ", JobTrail.Modules.Access.Contracts.Scopes.Grantable.Order(StringComparer.Ordinal))}.")
            .When(x => x.Scopes is null || x.Scopes.Length <= MaxScopes);
    }
}

internal sealed class CreateApiKeyHandler(AccessDbContext db, RequestContext context, TimeProvider clock)
    : IRequestHandler<CreateApiKeyCommand, CreatedApiKeyResponse>
{
    public async Task<CreatedApiKeyResponse> Handle(CreateApiKeyCommand request, CancellationToken cancellationToken)
    {
        if (!await db.Workspaces.AnyAsync(w => w.WorkspaceId == request.WorkspaceId, cancellationToken))
        {
            throw new NotFoundException($"Workspace {request.WorkspaceId} does not exist.");
        }

        var (keyId, plaintext, hash) = ApiKeyFormat.Generate();
        var key = new ApiKey
        {
            Id = keyId,
            WorkspaceId = request.WorkspaceId,
            Name = request.Name!,
            ActorId = request.ActorId!,
            Scopes = request.Scopes!.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray(),
            SecretHash = hash,
            CreatedAt = clock.UtcNowMicros(),
            CreatedBy = context.RequireActor(),
        };
        db.ApiKeyDirectory.Add(new ApiKeyDirectoryEntry { KeyId = keyId, WorkspaceId = request.WorkspaceId });
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return key.ToCreatedResponse(plaintext);
    }
}
