using System.Reflection;
using MediatR;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.DependencyInjection;

namespace JobTrail.BuildingBlocks.Http;

/// <summary>
/// What an endpoint's delegate returns: the request it bound, sent through the mediator when the result
/// runs, and the HTTP result made from the response. Binding stays in the endpoint's own delegate, so
/// parameter names, binding errors and the documented parameters are the ones the endpoint declares.
/// </summary>
public sealed class Sent<TResponse, TResult>(IRequest<TResponse> request, Func<TResponse, HttpContext, TResult> answer)
    : IResult, IEndpointMetadataProvider
    where TResult : IResult, IEndpointMetadataProvider
{
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        var mediator = httpContext.RequestServices.GetRequiredService<IMediator>();
        var response = await mediator.Send(request, httpContext.RequestAborted);
        await answer(response, httpContext).ExecuteAsync(httpContext);
    }

    // The documented response is the one the answer gives, e.g. 200 with the response's schema.
    static void IEndpointMetadataProvider.PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        TResult.PopulateMetadata(method, builder);
}

/// <summary>The answers an endpoint gives to the request it bound: <c>Send.Ok(new GetJobQuery(jobId))</c>.</summary>
public static class Send
{
    /// <summary>200 with the response.</summary>
    public static Sent<TResponse, Ok<TResponse>> Ok<TResponse>(IRequest<TResponse> request) =>
        new(request, static (response, _) => TypedResults.Ok(response));

    /// <summary>201 with the response, and a Location made from it when <paramref name="location"/> is given.</summary>
    public static Sent<TResponse, Created<TResponse>> Created<TResponse>(IRequest<TResponse> request, Func<TResponse, string>? location = null) =>
        new(request, (response, _) => TypedResults.Created(location?.Invoke(response), response));

    /// <summary>204 once the request has been handled.</summary>
    public static Sent<Unit, NoContent> NoContent(IRequest<Unit> request) =>
        new(request, static (_, _) => TypedResults.NoContent());

    /// <summary>Any other answer, e.g. one that also sets a header from the response.</summary>
    public static Sent<TResponse, TResult> Then<TResponse, TResult>(IRequest<TResponse> request, Func<TResponse, HttpContext, TResult> answer)
        where TResult : IResult, IEndpointMetadataProvider =>
        new(request, answer);
}
