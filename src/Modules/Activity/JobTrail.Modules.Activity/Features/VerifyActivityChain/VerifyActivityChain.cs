
namespace JobTrail.Modules.Activity.Features.VerifyActivityChain;

/// <summary>
/// Recomputes the workspace's activity chain over [fromSeq, toSeq] (default: from the oldest link
/// retention kept to the newest sealed one) and names the first seq that does not hold. Rows wait a
/// moment for their link (the sealer runs off the request path); they are verified once sealed.
/// </summary>
[RequiresScope(Scopes.ActivityRead)]
internal sealed record VerifyActivityChainQuery(long? FromSeq, long? ToSeq) : IQuery<ChainVerification>;

internal sealed class VerifyActivityChainValidator : AbstractValidator<VerifyActivityChainQuery>
{
    public VerifyActivityChainValidator()
    {
        RuleFor(x => x.FromSeq).GreaterThanOrEqualTo(1).WithMessage("'fromSeq' must be 1 or more.");
        RuleFor(x => x.ToSeq).GreaterThanOrEqualTo(1).WithMessage("'toSeq' must be 1 or more.");
        RuleFor(x => x.ToSeq).GreaterThanOrEqualTo(x => x.FromSeq).When(x => x.FromSeq is not null && x.ToSeq is not null)
            .WithMessage("'toSeq' must not be below 'fromSeq'.");
    }
}

internal sealed class VerifyActivityChainHandler(ActivityChainReader reader, IntegrityKeyRing keys)
    : IRequestHandler<VerifyActivityChainQuery, ChainVerification>
{
    private const int PageSize = 1000;

    public async Task<ChainVerification> Handle(VerifyActivityChainQuery request, CancellationToken cancellationToken)
    {
        var workspace = reader.WorkspaceId;
        var extent = await reader.GetExtentAsync(cancellationToken);
        if (extent is null)
        {
            return new ChainVerifier(keys, ChainKind.Activity, workspace, workspace).Finish();
        }

        // Retention removes the oldest links whole months at a time: the chain starts at the oldest kept one.
        var from = Math.Max(request.FromSeq ?? extent.FirstSeq, extent.FirstSeq);
        var to = Math.Min(request.ToSeq ?? extent.LastSeq, extent.LastSeq);
        var anchor = from > extent.FirstSeq ? await reader.GetHashAsync(from - 1, cancellationToken) : null;
        var verifier = new ChainVerifier(keys, ChainKind.Activity, workspace, workspace, from, anchor);
        for (var after = from - 1; after < to && !verifier.Failed; after += PageSize)
        {
            foreach (var entry in await reader.ReadAsync(after, Math.Min(after + PageSize, to), extent.KeptSince, cancellationToken))
            {
                if (!verifier.Add(entry))
                {
                    break;
                }
            }
        }

        return verifier.Finish(to);
    }
}
