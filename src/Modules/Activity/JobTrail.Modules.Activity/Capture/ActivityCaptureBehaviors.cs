using System.Reflection;
using JobTrail.Modules.Activity.Contracts;

namespace JobTrail.Modules.Activity.Capture;

/// <summary>Which audit declaration a request type carries, read once per type.</summary>
internal static class AuditTraits<TRequest>
{
    public static readonly AuditedAttribute? Audited = RequestTraits<TRequest>.IsCommand
        ? typeof(TRequest).GetCustomAttribute<AuditedAttribute>()
        : null;
}

/// <summary>
/// Innermost: after an audited command's handler succeeds, records SUCCEEDED in the same
/// transaction, so the activity row exists exactly when the change does. For a command whose writes
/// another writer commits (<see cref="JoinedWrites"/>), the row is described before the handler runs
/// and joins that writer's transaction.
/// </summary>
internal sealed class ActivityCaptureBehavior<TRequest, TResponse>(IEnumerable<IActivityCapture> captures, JoinedWrites joined)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        var audited = AuditTraits<TRequest>.Audited;
        if (audited is not null && joined.IsActive)
        {
            return await HandleJoinedAsync(audited, request, next, cancellationToken);
        }

        var response = await next();
        if (audited is null)
        {
            return response;
        }

        var activity = ActivityDescription.Of(audited, request, response, ActivityOutcome.Succeeded, errorCode: null);
        foreach (var capture in captures)
        {
            await capture.RecordInTransactionAsync(activity, cancellationToken);
        }

        return response;
    }

    private async Task<TResponse> HandleJoinedAsync(
        AuditedAttribute audited, TRequest request, RequestHandlerDelegate<TResponse> next, CancellationToken cancellationToken)
    {
        // The writer commits before the handler returns, so the row cannot depend on the response.
        var activity = ActivityDescription.Of<TRequest, TResponse>(audited, request, default, ActivityOutcome.Succeeded, errorCode: null);
        foreach (var capture in captures)
        {
            capture.RecordInJoinedTransaction(activity);
        }

        var response = await next();
        if (!joined.Committed)
        {
            // Nothing was written with the writer (an idempotent replay): the success is still recorded, on its own.
            foreach (var capture in captures)
            {
                await capture.RecordAloneAsync(activity, cancellationToken);
            }
        }

        return response;
    }
}

/// <summary>
/// Just inside logging: an audited command refused by validation, authorization or a state rule
/// is recorded as FAILED or DENIED in a short transaction of its own, then the refusal goes on.
/// </summary>
internal sealed class RefusalCaptureBehavior<TRequest, TResponse>(IEnumerable<IActivityCapture> captures)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        var audited = AuditTraits<TRequest>.Audited;
        if (audited is null)
        {
            return await next();
        }

        try
        {
            return await next();
        }
        catch (Exception ex) when (ex is ProblemException or ValidationException)
        {
            var (outcome, code) = ex switch
            {
                ForbiddenException forbidden => (ActivityOutcome.Denied, forbidden.Code),
                ProblemException problem => (ActivityOutcome.Failed, problem.Code),
                _ => (ActivityOutcome.Failed, "validation_failed"),
            };
            var activity = ActivityDescription.Of<TRequest, TResponse>(audited, request, default, outcome, code);
            foreach (var capture in captures)
            {
                await capture.RecordRefusalAsync(activity, CancellationToken.None);
            }

            throw;
        }
    }
}

internal static class ActivityDescription
{
    public static CapturedActivity Of<TRequest, TResponse>(
        AuditedAttribute audited, TRequest request, TResponse? response, ActivityOutcome outcome, string? errorCode)
    {
        var described = request as IAuditedCommand<TResponse>;
        string? entityId = null;
        IReadOnlyDictionary<string, object?>? metadata = null;
        if (described is not null)
        {
            entityId = described.GetAuditEntityId(response);
            metadata = described.GetAuditMetadata(response);
        }

        if (errorCode is not null)
        {
            var withError = metadata is null ? new Dictionary<string, object?>() : new Dictionary<string, object?>(metadata);
            withError["error"] = errorCode;
            metadata = withError;
        }

        return new CapturedActivity(audited.Action, audited.EntityType, entityId, outcome, metadata);
    }
}
