using System.Net;
using System.Text.Json;

namespace JobTrail.Client;

/// <summary>
/// Every error answer of the API (an RFC 9457 problem), as one exception: the HTTP status, the
/// problem's title, detail and machine-readable <see cref="Code"/>, the field errors of a
/// validation problem, and the ids to quote when asking about it.
/// </summary>
public sealed class JobTrailApiException : Exception
{
    public JobTrailApiException(
        HttpStatusCode status,
        string? title,
        string? detail,
        string? code,
        IReadOnlyDictionary<string, string[]>? errors,
        string? traceId,
        string? correlationId,
        TimeSpan? retryAfter = null)
        : base(Describe(status, title, detail, code))
    {
        Status = status;
        Title = title;
        Detail = detail;
        Code = code;
        Errors = errors ?? new Dictionary<string, string[]>();
        TraceId = traceId;
        CorrelationId = correlationId;
        RetryAfter = retryAfter;
    }

    public HttpStatusCode Status { get; }

    public int StatusCode => (int)Status;

    public string? Title { get; }

    public string? Detail { get; }

    /// <summary>The problem's <c>code</c> (e.g. <c>job_not_found</c>, <c>job_terminal</c>, <c>invalid_transition</c>).</summary>
    public string? Code { get; }

    /// <summary>Field name → messages, for validation problems (400); empty otherwise.</summary>
    public IReadOnlyDictionary<string, string[]> Errors { get; }

    public string? TraceId { get; }

    public string? CorrelationId { get; }

    /// <summary>The server's Retry-After, when it sent one (429, 503).</summary>
    public TimeSpan? RetryAfter { get; }

    public bool IsBadRequest => Status == HttpStatusCode.BadRequest;

    public bool IsUnauthorized => Status == HttpStatusCode.Unauthorized;

    public bool IsForbidden => Status == HttpStatusCode.Forbidden;

    public bool IsNotFound => Status == HttpStatusCode.NotFound;

    public bool IsConflict => Status == HttpStatusCode.Conflict;

    public bool IsUnprocessable => Status == HttpStatusCode.UnprocessableEntity;

    public bool IsTooManyRequests => Status == HttpStatusCode.TooManyRequests;

    public bool IsServiceUnavailable => Status == HttpStatusCode.ServiceUnavailable;

    internal static async Task<JobTrailApiException> FromResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        string? title = response.ReasonPhrase, detail = null, code = null, traceId = null, correlationId = null;
        Dictionary<string, string[]>? errors = null;
        string body;
        try
        {
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException)
        {
            body = string.Empty;
        }

        if (body.Length > 0 && (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) ?? false))
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    title = String(root, "title") ?? title;
                    detail = String(root, "detail");
                    code = String(root, "code");
                    traceId = String(root, "traceId");
                    correlationId = String(root, "correlationId");
                    if (root.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
                    {
                        errors = [];
                        foreach (var field in fields.EnumerateObject())
                        {
                            errors[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                                ? [.. field.Value.EnumerateArray().Select(m => m.ToString())]
                                : [field.Value.ToString()];
                        }
                    }
                }
            }
            catch (JsonException)
            {
                // Not a problem document after all: the status and reason still tell what happened.
            }
        }
        else if (body.Length > 0)
        {
            detail = body.Length > 500 ? body[..500] : body;
        }

        correlationId ??= response.Headers.TryGetValues("X-Correlation-Id", out var ids) ? ids.FirstOrDefault() : null;
        return new JobTrailApiException(response.StatusCode, title, detail, code, errors, traceId, correlationId, RetryAfterOf(response));
    }

    internal static TimeSpan? RetryAfterOf(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Describe(HttpStatusCode status, string? title, string? detail, string? code) =>
        $"JobTrail API answered {(int)status} {title}{(code is null ? string.Empty : $" ({code})")}{(detail is null ? string.Empty : $": {detail}")}";
}
