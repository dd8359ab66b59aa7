using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using JobTrail.BuildingBlocks.Mediator;
using JobTrail.Modules.Access.Contracts;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace JobTrail.Host;

/// <summary>
/// What the generated API description says beyond routes and shapes: how a caller authenticates
/// (an API key as a bearer token), which scope each operation needs, and who the service is.
/// </summary>
internal static class OpenApiDescription
{
    public const string SecuritySchemeName = "apiKey";

    private static readonly Dictionary<string, string> TagDescriptions = new(StringComparer.Ordinal)
    {
        ["Access"] = "Workspaces and their API keys.",
        ["Runner jobs"] = "A job's lifecycle: PENDING, QUEUED, RUNNING, then COMPLETED, FAILED or CANCELLED.",
        ["Job steps"] = "The steps of a job, by phase, with durations and AI token usage.",
        ["Job events"] = "A job's ordered, append-only event log, live over Server-Sent Events.",
        ["Activity"] = "Who did what: the workspace's audit trail.",
    };

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            Describe(document);
            return Task.CompletedTask;
        });
        options.AddOperationTransformer((operation, context, _) =>
        {
            RequireScope(operation, context);
            return Task.CompletedTask;
        });
    }

    private static void Describe(OpenApiDocument document)
    {
        document.Info.Title = "JobTrail";
        document.Info.Description =
            "Records what runner jobs (CI jobs, AI agent runs) do, and who did what to them. " +
            "Every operation needs an API key, sent as `Authorization: Bearer jt_<keyId>_<secret>`, " +
            "holding the scope the operation names.";
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[SecuritySchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            BearerFormat = "jt_<keyId>_<secret>",
            Description = "A workspace API key. Its scopes decide what it may do: " +
                          string.Join(", ", Scopes.All.Order(StringComparer.Ordinal)) + ".",
        };

        // The server entry is the base address of the request that asked for the document; a
        // trailing slash there would make every path start with "//".
        foreach (var server in document.Servers ?? [])
        {
            server.Url = server.Url?.TrimEnd('/');
        }

        foreach (var tag in document.Tags ?? new HashSet<OpenApiTag>())
        {
            if (tag.Name is not null && TagDescriptions.TryGetValue(tag.Name, out var description))
            {
                tag.Description = description;
            }
        }
    }

    private static void RequireScope(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var scope = ScopeOf(context.Description.ActionDescriptor.EndpointMetadata);
        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement
        {
            [new OpenApiSecuritySchemeReference(SecuritySchemeName, context.Document)] = scope is null ? [] : [scope],
        });
        if (scope is not null)
        {
            operation.Description = (operation.Description is null ? "" : operation.Description + "\n\n") + $"Requires the `{scope}` scope.";
        }

        operation.Responses ??= new OpenApiResponses();
        DescribeStreams(operation.Responses, context.Description.ActionDescriptor.EndpointMetadata);
        operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No API key, or one that is unknown, revoked or malformed." });
        operation.Responses.TryAdd("403", new OpenApiResponse { Description = "The API key lacks the scope this operation requires." });
    }

    /// <summary>
    /// A response declared with a content type but no body type (the Server-Sent Events streams)
    /// is described by its media type, so a client generator knows it is a stream of text frames.
    /// </summary>
    private static void DescribeStreams(OpenApiResponses responses, IList<object> metadata)
    {
        foreach (var produces in metadata.OfType<IProducesResponseTypeMetadata>().Where(p => p.ContentTypes.Contains(EventStreamMediaType)))
        {
            if (responses.TryGetValue(produces.StatusCode.ToString(CultureInfo.InvariantCulture), out var response) && response is OpenApiResponse described)
            {
                described.Content ??= new Dictionary<string, OpenApiMediaType>();
                described.Content[EventStreamMediaType] = new OpenApiMediaType
                {
                    Schema = new OpenApiSchema
                    {
                        Type = JsonSchemaType.String,
                        Description = "Server-Sent Events: frames of `id:` (the position to resume from with Last-Event-ID), " +
                                      "`event:` (the event type) and `data:` (the JSON of one event), and `:` heartbeat comments.",
                    },
                };
                described.Description = "A stream of Server-Sent Events.";
            }
        }
    }

    private const string EventStreamMediaType = "text/event-stream";

    private static readonly ConcurrentDictionary<(Assembly, string), string?> ScopeBySlice = new();

    /// <summary>
    /// An endpoint sits in its slice's namespace beside the request it sends; the request's
    /// <see cref="RequiresScopeAttribute"/> is the scope the pipeline enforces, so the document says
    /// what is enforced rather than a second copy of it.
    /// </summary>
    private static string? ScopeOf(IList<object> metadata)
    {
        var handler = metadata.OfType<MethodInfo>().FirstOrDefault()?.DeclaringType;
        while (handler?.DeclaringType is not null)
        {
            handler = handler.DeclaringType;
        }

        if (handler?.Namespace is not { } slice)
        {
            return null;
        }

        return ScopeBySlice.GetOrAdd((handler.Assembly, slice), key =>
        {
            var scopes = key.Item1.GetTypes()
                .Where(t => t.Namespace == key.Item2)
                .Select(t => t.GetCustomAttribute<RequiresScopeAttribute>()?.Scope)
                .OfType<string>()
                .Distinct(StringComparer.Ordinal)
                .ToList();
            return scopes.Count == 1 ? scopes[0] : null;
        });
    }
}
