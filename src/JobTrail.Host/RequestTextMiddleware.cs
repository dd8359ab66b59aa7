using JobTrail.BuildingBlocks.Errors;
using JobTrail.BuildingBlocks.Json;

namespace JobTrail.Host;

/// <summary>
/// Refuses query strings and route values holding text PostgreSQL cannot store (a NUL, an unpaired
/// surrogate): <c>?actorId=%00</c> is a 400 that names the parameter, never a database error.
/// JSON bodies get the same check from the serializer (<see cref="StorableStringConverter"/>), and the
/// free-form JSON inside them (payloads, metadata) from their validators (<see cref="StoredJson"/>).
/// </summary>
internal sealed class RequestTextMiddleware(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext http)
    {
        foreach (var (name, values) in http.Request.Query)
        {
            if (!StorableText.IsStorable(name) || values.Any(v => !StorableText.IsStorable(v)))
            {
                throw new BadRequestException($"The query parameter '{Printable(name)}' {StorableText.Refusal}.", "invalid_text");
            }
        }

        foreach (var (name, value) in http.Request.RouteValues)
        {
            if (value is string text && !StorableText.IsStorable(text))
            {
                throw new BadRequestException($"The path segment '{name}' {StorableText.Refusal}.", "invalid_text");
            }
        }

        return next(http);
    }

    private static string Printable(string name) => StorableText.IsStorable(name) ? name : "(unprintable)";
}
