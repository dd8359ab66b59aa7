using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using FluentValidation;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using JobTrail.BuildingBlocks.Json;
using JobTrail.BuildingBlocks.Persistence;
using Npgsql;

namespace JobTrail.BuildingBlocks.Errors;

/// <summary>
/// Turns every exception into an RFC 9457 problem. Known refusals keep their message; a database
/// that cannot be reached is a 503 with <c>Retry-After</c> (logged once per outage, by
/// <see cref="DatabaseAvailability"/>); anything else is a 500 whose body says nothing about the
/// internals (the log has the details).
/// </summary>
public sealed partial class ProblemExceptionHandler(
    IProblemDetailsService problems,
    DatabaseAvailability database,
    ILogger<ProblemExceptionHandler> logger)
    : IExceptionHandler
{
    public const string DatabaseUnavailableCode = "database_unavailable";

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        var problem = Describe(exception);
        if (database.ReportFailure(exception, $"{http.Request.Method} {http.Request.Path}"))
        {
            // The outage is the database's state, not this request's bug: no stack trace per request.
            http.Response.Headers.RetryAfter = ((int)database.RetryAfter.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        }
        else if (problem.Status >= 500)
        {
            logger.LogError(exception, "Unhandled error on {Method} {Path}", http.Request.Method, http.Request.Path);
        }

        if (exception is TooManyRequestsException limited)
        {
            http.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(limited.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        }

        http.Response.StatusCode = problem.Status!.Value;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            ProblemDetails = problem,
            Exception = exception,
        });
    }

    public static ProblemDetails Describe(Exception exception) => exception switch
    {
        ValidationException validation => ValidationProblem(validation),
        ProblemException known => Problem(known.Status, known.Message, known.Code),
        BadHttpRequestException bad => BadRequest(bad),
        _ when DatabaseFailure.IsUnreachable(exception) =>
            Problem(503, "The service cannot reach its database at the moment; retry after the number of seconds in Retry-After.", DatabaseUnavailableCode),
        DbUpdateException { InnerException: PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } } =>
            Problem(409, "A resource with the same unique value already exists.", "already_exists"),
        PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } =>
            Problem(409, "A resource with the same unique value already exists.", "already_exists"),
        // Input the edge should have refused (it checks JSON strings, query strings and route values):
        // text PostgreSQL cannot store is the client's, whatever path it came by.
        PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter } or
        DbUpdateException { InnerException: PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire or PostgresErrorCodes.UntranslatableCharacter } } or
            System.Text.EncoderFallbackException =>
            Problem(400, $"The request {StorableText.Refusal}.", "invalid_text"),
        OperationCanceledException => Problem(499, "The request was cancelled.", "cancelled"),
        _ => Problem(500, "An unexpected error occurred. Quote the correlation id when reporting it.", "internal_error"),
    };

    private static ProblemDetails Problem(int status, string detail, string code) => new()
    {
        Status = status,
        Detail = detail,
        Extensions = { ["code"] = code },
    };

    private static ProblemDetails ValidationProblem(ValidationException exception)
    {
        var errors = exception.Errors
            .GroupBy(e => CamelPath(e.PropertyName) + (e.CustomState as WithinJson)?.Path)
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage).Distinct().ToArray());
        var first = exception.Errors.FirstOrDefault()?.ErrorMessage ?? "The request is invalid.";
        var problem = Problem(400, errors.Count == 1 ? first : $"{first} (and {errors.Count - 1} more)", "validation_failed");
        problem.Title = "One or more validation errors occurred.";
        problem.Extensions["errors"] = errors;
        return problem;
    }

    private static ProblemDetails BadRequest(BadHttpRequestException exception)
    {
        if (exception.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Problem(413, "The request body is too large.", "payload_too_large");
        }

        if (exception.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return Problem(415, "The request body must be sent as application/json.", "unsupported_media_type");
        }

        return exception.InnerException switch
        {
            // Well-formed JSON whose string cannot be stored: a field error, like any other invalid value.
            JsonException json when json.Message.StartsWith(StorableText.Refusal, StringComparison.Ordinal) => UnstorableText(json),
            JsonException json => Problem(400, DescribeJsonError(json), "malformed_json"),
            _ when exception.Message.StartsWith("Failed to read parameter", StringComparison.Ordinal) =>
                Problem(400, "The request body is missing or is not valid JSON.", "malformed_json"),
            _ when exception.Message.StartsWith("Required parameter", StringComparison.Ordinal)
                || exception.Message.Contains("no body was provided", StringComparison.Ordinal) =>
                Problem(400, "A request body is required.", "missing_body"),
            _ => Problem(400, SanitizeBindingMessage(exception.Message), "bad_request"),
        };
    }

    private static ProblemDetails UnstorableText(JsonException json)
    {
        var field = string.IsNullOrEmpty(json.Path) || json.Path == "$" ? "body" : json.Path.TrimStart('$').TrimStart('.');
        var message = $"'{field}' {StorableText.Refusal}.";
        var problem = Problem(400, message, "validation_failed");
        problem.Title = "One or more validation errors occurred.";
        problem.Extensions["errors"] = new Dictionary<string, string[]> { [field] = [message] };
        return problem;
    }

    /// <summary>Says what is wrong with the JSON and where, without naming .NET types.</summary>
    internal static string DescribeJsonError(JsonException json)
    {
        var unmapped = UnmappedProperty().Match(json.Message);
        if (unmapped.Success)
        {
            return $"Unknown property '{unmapped.Groups[1].Value}' in the request body.";
        }

        var path = string.IsNullOrEmpty(json.Path) ? "$" : json.Path;
        if (json.Message.StartsWith(StorableText.Refusal, StringComparison.Ordinal))
        {
            return $"The value at '{path}' {StorableText.Refusal}.";
        }

        if (json.Message.StartsWith(StorableText.NotUtf8, StringComparison.Ordinal)
            || (json.InnerException is InvalidOperationException invalid && invalid.Message.Contains("UTF-8", StringComparison.Ordinal)))
        {
            return StorableText.NotUtf8;
        }
        if (json.Message.Contains("maximum configured depth", StringComparison.Ordinal))
        {
            return "The JSON is nested too deeply (maximum depth is 32).";
        }

        if (json.Message.Contains("Duplicate", StringComparison.OrdinalIgnoreCase))
        {
            return $"Duplicate property at '{path}' in the request body.";
        }

        if (json.Message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return $"The value at '{path}' has the wrong type or is not one of the allowed values.";
        }

        return json.LineNumber is null
            ? "The request body is not valid JSON."
            : $"The request body is not valid JSON (near '{path}', line {json.LineNumber + 1}, position {json.BytePositionInLine}).";
    }

    private static string SanitizeBindingMessage(string message)
    {
        var match = FailedBind().Match(message);
        return match.Success
            ? $"The value '{match.Groups[2].Value}' is not valid for '{match.Groups[1].Value}'."
            : "The request could not be read.";
    }

    /// <summary>
    /// <c>Events[0].StepId</c> → <c>events[0].stepId</c>, matching the JSON names. A path inside a
    /// client's JSON (<see cref="WithinJson"/>) is appended as sent: its names are the client's own.
    /// </summary>
    internal static string CamelPath(string propertyName) =>
        string.Join('.', propertyName.Split('.').Select(s => s.Length == 0 ? s : char.ToLowerInvariant(s[0]) + s[1..]));

    [GeneratedRegex("The JSON property '([^']*)' could not be mapped")]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex("Failed to bind parameter \"[^\"]*? ([A-Za-z0-9_]+)\" from \"([^\"]*)\"")]
    private static partial Regex FailedBind();
}
