using System.Buffers;
using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;

namespace JobTrail.Modules.JobEvents.Features.EmitEvent;

/// <summary>
/// 201 with the events an emit stored, written from their JSON as made once for this instance's streams and relay
/// (<see cref="StoredEvents"/>) instead of being serialised again: the body is byte for byte what
/// <c>TypedResults.Created</c> writes for <typeparamref name="TBody"/>, and the endpoint is documented as that result.
/// One event is the event itself; a batch is <c>{"items":[…]}</c>.
/// </summary>
internal sealed class CreatedEvents<TBody>(string? location, EmittedEvents emitted, bool asItems)
    : IResult, IStatusCodeHttpResult, IContentTypeHttpResult, IEndpointMetadataProvider
{
    private static readonly byte[] ItemsStart = "{\"items\":["u8.ToArray();
    private static readonly byte[] ItemsEnd = "]}"u8.ToArray();

    public int? StatusCode => StatusCodes.Status201Created;

    public string ContentType => "application/json; charset=utf-8";

    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var response = httpContext.Response;
        response.StatusCode = StatusCodes.Status201Created;
        if (location is not null)
        {
            response.Headers.Location = location;
        }

        response.ContentType = ContentType;
        var count = asItems ? emitted.Stored.Count : 1;
        var parts = new string[count];
        long length = asItems ? ItemsStart.Length + ItemsEnd.Length + Math.Max(0, count - 1) : 0;
        for (var i = 0; i < count; i++)
        {
            parts[i] = emitted.Json(i);
            length += Encoding.UTF8.GetByteCount(parts[i]);
        }

        response.ContentLength = length;
        var body = response.BodyWriter;
        if (asItems)
        {
            body.Write(ItemsStart);
        }

        for (var i = 0; i < count; i++)
        {
            if (i > 0)
            {
                body.Write(","u8);
            }

            Encoding.UTF8.GetBytes(parts[i], body);
        }

        if (asItems)
        {
            body.Write(ItemsEnd);
        }

        await body.FlushAsync(httpContext.RequestAborted);
    }

    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        Document<Created<TBody>>(method, builder);

    private static void Document<TResult>(MethodInfo method, EndpointBuilder builder)
        where TResult : IEndpointMetadataProvider =>
        TResult.PopulateMetadata(method, builder);
}
