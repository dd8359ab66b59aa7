using System.Globalization;

namespace JobTrail.Modules.JobEvents.Features.VerifyEventChain;

/// <summary>
/// Recomputes the job's hash chain from seq 1 to its head and names the first seq that does not
/// hold: a changed event (<c>hash_mismatch</c>), a missing one (<c>gap</c>), a link that does not
/// follow the one before (<c>broken_link</c>), or events past a head that was moved back
/// (<c>head_behind_chain</c>).
/// </summary>
[RequiresScope(Scopes.EventsRead)]
internal sealed record VerifyEventChainQuery(Guid JobId) : IQuery<ChainVerification>;

internal sealed class VerifyEventChainValidator : AbstractValidator<VerifyEventChainQuery>
{
    public VerifyEventChainValidator()
    {
        RuleFor(x => x.JobId).NotEmpty().WithMessage("'jobId' must be a job id.");
    }
}

internal sealed class VerifyEventChainHandler(EventChainReader chain, IntegrityKeyRing keys) : IRequestHandler<VerifyEventChainQuery, ChainVerification>
{
    /// <summary>Seqs read per query: memory stays bounded however long the job's log.</summary>
    private const int PageSize = 1000;

    public async Task<ChainVerification> Handle(VerifyEventChainQuery request, CancellationToken cancellationToken)
    {
        var extent = await chain.ReadExtentAsync(request.JobId, cancellationToken) ?? throw JobEventErrors.JobNotFound(request.JobId);
        var verifier = new ChainVerifier(keys, ChainKind.Events, chain.WorkspaceId, request.JobId);
        // Stops at the first fault, so a forged seq far beyond the head costs one page, not billions.
        for (var after = 0L; after < extent.MaxSeq && !verifier.Failed; after += PageSize)
        {
            foreach (var entry in await chain.ReadAsync(request.JobId, after, after + PageSize, extent.ExpiredBelowSeq, cancellationToken))
            {
                if (!verifier.Add(entry))
                {
                    break;
                }
            }
        }

        var result = verifier.Finish(extent.HeadSeq);
        var expiredUpTo = Math.Min(extent.ExpiredBelowSeq - 1, extent.HeadSeq);
        // Valid, but not every event could be compared with its link: say which were gone and why.
        return result.Valid && expiredUpTo >= 1
            ? result with
            {
                Detail = string.Create(CultureInfo.InvariantCulture,
                    $"The events at seq 1 to {expiredUpTo} were removed by retention (recorded before {extent.DroppedBefore:O}); their links still verify, the events themselves could not be compared."),
            }
            : result;
    }
}
