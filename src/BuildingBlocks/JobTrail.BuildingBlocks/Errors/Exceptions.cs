namespace JobTrail.BuildingBlocks.Errors;

/// <summary>
/// An expected refusal that becomes an RFC 9457 problem. <see cref="Code"/> is a stable,
/// machine-readable reason; the message is the human-readable detail.
/// </summary>
public abstract class ProblemException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Code { get; } = code;
}

public sealed class BadRequestException(string message, string code = "bad_request")
    : ProblemException(400, code, message);

public sealed class ForbiddenException(string message, string code = "forbidden")
    : ProblemException(403, code, message);

public sealed class NotFoundException(string message, string code = "not_found")
    : ProblemException(404, code, message);

public sealed class ConflictException(string message, string code = "conflict")
    : ProblemException(409, code, message);

public sealed class PayloadTooLargeException(string message, string code = "payload_too_large")
    : ProblemException(413, code, message);

public sealed class UnprocessableException(string message, string code = "unprocessable")
    : ProblemException(422, code, message);

public sealed class TooManyRequestsException(string message, TimeSpan retryAfter, string code = "rate_limited")
    : ProblemException(429, code, message)
{
    public TimeSpan RetryAfter { get; } = retryAfter;
}
